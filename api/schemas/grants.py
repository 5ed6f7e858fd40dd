"""Response structs of the portfolio-run (grants) API."""

from __future__ import annotations

import msgspec

from api.schemas.runs import RunOut, run_out
from api.services.grants import PortfolioRunView
from sql.grants import GrantPublic, PortfolioProposalPublic


class ScoredProposalOut(PortfolioProposalPublic, frozen=True):
    """An opened proposal of a call with the foundation's score."""


class GrantOut(GrantPublic, frozen=True):
    """A grant a run proposes, with its reasons."""


class PortfolioRunViewOut(msgspec.Struct, frozen=True):
    """A run and the grants it wrote."""

    run: RunOut
    grants: list[GrantOut]


def portfolio_run_view_out(view: PortfolioRunView) -> PortfolioRunViewOut:
    """A run with its grants."""
    return PortfolioRunViewOut(
        run=run_out(view.run),
        grants=[msgspec.convert(g, GrantOut, from_attributes=True) for g in view.grants],
    )
