"""Response structs of the funder's dashboard."""

from __future__ import annotations

import msgspec


class TotalsOut(msgspec.Struct, frozen=True):
    """Committed, awarded and paid, in fen."""

    committed_fen: int
    awarded_fen: int
    paid_fen: int


class MoneyByFunderOut(msgspec.Struct, frozen=True):
    """One funder's figures."""

    funder_id: int
    funder_name: str
    committed_fen: int
    awarded_fen: int
    paid_fen: int


class MoneyByItemOut(msgspec.Struct, frozen=True):
    """One catalogue item's figures."""

    catalogue_item_id: int
    code: str
    name_zh: str
    name_en: str
    committed_fen: int
    awarded_fen: int
    paid_fen: int


class StageCountOut(msgspec.Struct, frozen=True):
    """Tenders at one stage."""

    status: str
    tenders: int


class DashboardOut(msgspec.Struct, frozen=True):
    """The dashboard: a funder's own figures, or every funder's for an admin."""

    funder_id: int | None
    totals: TotalsOut
    by_funder: list[MoneyByFunderOut]
    by_item: list[MoneyByItemOut]
    stages: list[StageCountOut]
