# Linli: `make run` starts everything locally, `make test` (the default) lints and runs every test,
# `make quick` runs the inner loop (every test outside the browser, fuzz, race, chaos and slow tiers),
# `make screens` refreshes the screenshots in docs/screens/.
.DEFAULT_GOAL := test
.PHONY: install run test quick lint bench screens

# `make test PYTEST_ARGS="-k login -x"` passes arguments on to pytest.
export PYTEST_ARGS

install:
	@bash scripts/install.sh

# Ctrl-C or SIGTERM stops the web app, the worker, Valkey and PostgreSQL.
run: install
	@.venv/bin/linli up

test:
	@bash scripts/install.sh --browser
	@bash scripts/test.sh

quick: install
	@bash scripts/test.sh --quick

lint: install
	@bash scripts/test.sh --lint-only

# Screenshots of each role's home and main flow at 390 and 1280 px into docs/screens/ (tests/screens.py).
screens:
	@bash scripts/install.sh --browser
	@.venv/bin/pytest tests/screens.py -q -p no:randomly -n 0

bench:
	@echo "Benchmarks are commands that print figures: .venv/bin/linli bench --help"
