"""Response structs of the funder's dashboard."""

from __future__ import annotations

import msgspec

from api.services.dashboard import Totals
from sql.dashboard import MoneyByFunder, MoneyByItem, StageCount


class TotalsOut(Totals, frozen=True):
    """Committed, awarded and paid, in fen."""


class MoneyByFunderOut(MoneyByFunder, frozen=True):
    """One funder's figures."""


class MoneyByItemOut(MoneyByItem, frozen=True):
    """One catalogue item's figures."""


class StageCountOut(StageCount, frozen=True):
    """Tenders at one stage."""


class DashboardOut(msgspec.Struct, frozen=True):
    """The dashboard: a funder's own figures, or every funder's for an admin."""

    funder_id: int | None
    totals: TotalsOut
    by_funder: list[MoneyByFunderOut]
    by_item: list[MoneyByItemOut]
    stages: list[StageCountOut]
