"""Run pages say whether a run's result can be reproduced (its work budget, not the clock, ended the search)."""

from __future__ import annotations

from types import SimpleNamespace

from api.app import _jinja_environment


def render(result: dict[str, object] | None) -> str:
    template = _jinja_environment().get_template("_partials/_run_reproducible.html")
    return template.render(run=SimpleNamespace(result=result))


def test_each_outcome_has_its_sentence_and_an_unfinished_run_none() -> None:
    assert "可复现" in render({"reproducible": True})
    cut = render({"reproducible": False})
    assert "服务器繁忙" in cut and "可复现" not in cut
    # Runs written before the field existed, and runs still going, say nothing.
    assert render({"status": "optimal"}).strip() == ""
    assert render(None).strip() == ""
