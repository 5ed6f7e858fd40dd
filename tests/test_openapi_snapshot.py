"""The JSON API's OpenAPI document matches the committed snapshot, so no response field changes unnoticed.

The response structs share their fields with the sql rows and service views they are made from; this snapshot is
what keeps a column added to a query (a check-in secret, a household's address) from reaching the JSON unseen.
After a deliberate change to the API, regenerate the snapshot and review its diff:

    .venv/bin/python -c "from tests.test_openapi_snapshot import write; write()"
"""

from __future__ import annotations

import difflib
import json
import tempfile
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar

from api.app import create_app
from tests import conftest

SNAPSHOT = Path(__file__).resolve().parent.parent / "docs" / "api" / "openapi.json"
REGENERATE = '.venv/bin/python -c "from tests.test_openapi_snapshot import write; write()"'


def document(app: Litestar) -> str:
    """The app's OpenAPI document as stable text: keys sorted, indented, one trailing newline."""
    # Through msgspec, as the app serves it: the document holds dates and times (in examples) json cannot write.
    schema: dict[str, Any] = json.loads(msgspec.json.encode(app.openapi_schema.to_schema()))
    return json.dumps(schema, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def write() -> None:
    """Regenerate docs/api/openapi.json from the app (after a deliberate API change)."""
    with tempfile.TemporaryDirectory() as state_dir:
        app = create_app(conftest.test_settings(Path(state_dir)), pool=None, redis=None)
        SNAPSHOT.write_text(document(app), encoding="utf-8")


def test_openapi_document_matches_the_snapshot(shared_app: Litestar) -> None:
    # The worker's app (built by create_app with the tests' settings, as write() builds one): building another costs a
    # second, and the document the app keeps is the one the API's other tests read from /schema/openapi.json.
    expected = SNAPSHOT.read_text(encoding="utf-8")
    actual = document(shared_app)
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                "docs/api/openapi.json (committed)",
                "generated from the app",
                n=2,
            )
        )
        lines = diff.splitlines()
        shown = "\n".join(lines[:80]) + (f"\n… {len(lines) - 80} more diff lines" if len(lines) > 80 else "")
        raise AssertionError(
            "The JSON API's OpenAPI document differs from docs/api/openapi.json.\n"
            "If the change is deliberate, regenerate the snapshot and review its diff:\n"
            f"    {REGENERATE}\n\n{shown}"
        )
