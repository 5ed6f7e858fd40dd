"""Plans people can steer (issue 15, item 7), as every steerable plan shares it: a planner pins a pair of the plan
and unpins it, each in one transaction that finds the caller's own plan first (another's is 404) and audits with
ids only; and a plan's inputs keep the pins in order, each checked against those kept before it, so a pin no plan
can hold is a conflict with its reason, never dropped silently."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar

import asyncpg

from api.services import audit_log
from api.services.accounts import Identity
from api.services.errors import NotFound, found


class Pin(Protocol):
    """A stored pin: it has an id."""

    @property
    def id(self) -> int:
        """The pin's id."""
        ...


PinT = TypeVar("PinT", bound=Pin)
PairT = TypeVar("PairT")


async def pin(
    conn: asyncpg.Connection,
    who: Identity,
    *,
    subject: Callable[[], Awaitable[int]],
    insert: Callable[[int], Awaitable[PinT | None]],
    missing: str,
    kind: str,
    object_type: str,
    detail: Callable[[PinT], dict[str, Any]],
) -> PinT:
    """Pin a pair of the caller's plan (`subject`: the id of the caller's roster or project, or NotFound; `insert`:
    the pin, or None if the pair is not in it); audited as `{kind}_pin.pin` on the subject (`object_type`)."""
    async with conn.transaction():
        subject_id = await subject()
        row = found(await insert(subject_id), missing)
        await audit_log.record(conn, who, f"{kind}_pin.pin", object_type, subject_id, {"pin_id": row.id, **detail(row)})
    return row


async def unpin(
    conn: asyncpg.Connection,
    who: Identity,
    pin_id: int,
    *,
    subject: Callable[[], Awaitable[int]],
    delete: Callable[[int], Awaitable[PairT | None]],
    kind: str,
    object_type: str,
    detail: Callable[[PairT], dict[str, Any]],
) -> None:
    """Remove a pin of the caller's plan (`delete`: the pinned pair, or None if the subject has no such pin);
    audited as `{kind}_pin.unpin`."""
    async with conn.transaction():
        subject_id = await subject()
        pair = await delete(subject_id)
        if pair is None:
            raise NotFound("No such pin")
        await audit_log.record(
            conn, who, f"{kind}_pin.unpin", object_type, subject_id, {"pin_id": pin_id, **detail(pair)}
        )


def keep_pins(
    pins: Iterable[PinT],
    pair: Callable[[PinT], PairT],
    why: Callable[[PinT, list[PairT]], str | None],
    where: Callable[[PinT], dict[str, Any]],
) -> tuple[list[PairT], list[dict[str, Any]]]:
    """The pairs of the pins a plan can keep, in order, and the others as conflicts {"pin_id", **where, "why"}:
    `why` says what stops a pin beside those kept before it (None: nothing)."""
    kept: list[PairT] = []
    conflicts: list[dict[str, Any]] = []
    for p in pins:
        reason = why(p, kept)
        if reason is None:
            kept.append(pair(p))
        else:
            conflicts.append({"pin_id": p.id, **where(p), "why": reason})
    return kept, conflicts
