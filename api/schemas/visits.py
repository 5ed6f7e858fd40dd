"""Response structs of carers' rosters and home-visit day plans (households masked, except on the carer's own
stops, whose addresses household_access opened and logged)."""

from __future__ import annotations

import datetime as dt

import msgspec

from api.schemas.common import out
from api.schemas.runs import RunOut, run_out
from api.services.respite_days import CancelledVisit, RespiteBoard
from api.services.visits import Board, BoardRoute, CarerChoice, PhoneDay, PhoneStop, PinConflictView
from sql.respite import RequestStates
from sql.visit_pins import VisitPinRow
from sql.visits import CarerRow, ContractRow


class CarerOut(CarerRow, frozen=True):
    """A carer on an organisation's roster: their account, base, working days and hours, travel mode, abilities
    (certificates verified by staff and not expired) and whether they joined."""


class VisitContractOut(ContractRow, frozen=True):
    """A home-care or respite contract of the organisation and how many households it serves."""


class BoardOut(msgspec.Struct, frozen=True):
    """The planner's board of a contract's day: every carer's route, who is idle, the latest run."""

    # None for a committee's respite day.
    contract: VisitContractOut | None
    day: dt.date
    day_id: int | None
    routes: list[BoardRoute]
    idle: list[str]
    latest_run: RunOut | None
    left_out: list[dict[str, object]]
    pins: list[VisitPinRow]
    pin_conflicts: list[PinConflictView]
    # The day's carers, whom a visit may be pinned to (VisitPinCreate.carer_id).
    carers: list[CarerChoice] = []


class PhoneStopOut(PhoneStop, frozen=True):
    """A stop of the carer's day (the address only while they serve the household)."""


class PhoneDayOut(msgspec.Struct, frozen=True):
    """The carer's day: their stops in order, and rosters of carers waiting for their answer."""

    day: dt.date
    stops: list[PhoneStopOut]
    invitations: list[CarerOut]


class CheckInOut(msgspec.Struct, frozen=True):
    """A stop checked in at."""

    id: int
    status: str
    checked_in_at: dt.datetime | None


def board_out(board: Board) -> BoardOut:
    """The board's public shape (the run without its seed and starter)."""
    return out(
        board,
        BoardOut,
        contract=None if board.contract is None else out(board.contract, VisitContractOut),
        latest_run=None if board.latest_run is None else run_out(board.latest_run),
    )


def phone_day_out(day: PhoneDay) -> PhoneDayOut:
    """The carer's day in its public shape."""
    return out(day, PhoneDayOut)


class VisitPinOut(VisitPinRow, frozen=True):
    """A visit of a day pinned to a carer (its own or another of the day's) at a start (None: any in its slot): every
    later plan of the day keeps it so, or says why it cannot."""


def visit_pin_out(row: VisitPinRow) -> VisitPinOut:
    """A visit pin's public shape."""
    return out(row, VisitPinOut)


__all__ = [
    "BoardOut",
    "BoardRoute",
    "CarerOut",
    "CheckInOut",
    "PhoneDayOut",
    "VisitContractOut",
    "VisitPinOut",
    "board_out",
    "phone_day_out",
    "visit_pin_out",
]


class RespiteRequestStatesOut(RequestStates, frozen=True):
    """How many of the committee's respite requests of the day wait, are on routes, or are scheduled as shifts."""


class RespiteBoardOut(msgspec.Struct, frozen=True):
    """The committee's board of a respite day: its carers' routes, the day's requests by state, and the routed ones
    the families cancelled since (off the routes)."""

    board: BoardOut
    requests: RespiteRequestStatesOut
    cancelled: list[CancelledVisit] = []


def respite_board_out(respite: RespiteBoard) -> RespiteBoardOut:
    """The committee's board in its public shape."""
    return RespiteBoardOut(
        board=board_out(respite.board), requests=out(respite.requests, RespiteRequestStatesOut),
        cancelled=respite.cancelled,
    )  # fmt: skip
