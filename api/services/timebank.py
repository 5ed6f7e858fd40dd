"""The time bank (时间银行): 1 confirmed hour = 1 time coin (stored as minutes), spent, given to family or donated.

Rules (PRODUCT.md, Nanjing's practice):
- An account holds at most the cap (LINLI_TIMEBANK_CAP_HOURS, 1,500 hours). Confirmed hours that would take it
  past the cap are credited up to the cap; the rest is recorded on the earning transaction as over-cap minutes
  (visible in the history) and never becomes coins. A gift that would take the family member past the cap is
  refused instead, so the giver keeps their coins.
- Hours from a shift flagged as a group activity are group time: they can only be donated. A donation takes group
  time first, then own time.
- Balances are never stored: they are the SUM of the account's ledger entries.
"""

from __future__ import annotations

from typing import Annotated, Literal

import asyncpg
import msgspec
from msgspec import Meta

from api.services import audit_log
from api.services.accounts import Identity
from api.services.errors import Conflict, Invalid
from sql import ledger as ledger_sql
from sql.ledger import Balance, HistoryRow

# Refusals for callers of another role (msgids, translated at the edges).
_ONLY_VOLUNTEERS = "Only volunteers have a time bank account"

MINUTES_PER_COIN = 60
DEFAULT_CAP_HOURS = 1500

# What coins buy (a service from another volunteer or the community), as codes the pages translate.
SERVICES = {
    "meal": "Meal delivery",
    "haircut": "Haircut",
    "companion": "Companionship visit",
    "repair": "Household repair",
    "errand": "Errands and shopping",
    "respite": "Respite care",
}


class Transfer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Coins leaving the caller's account: given to a family member, spent on a service, or donated to the pool."""

    kind: Literal["give", "spend", "donate"]
    minutes: Annotated[int, Meta(ge=1, le=10_000_000)]
    to_username: str | None = None
    service: str | None = None
    memo: Annotated[str, Meta(max_length=200, pattern=r"^[^\x00]*$")] = ""


class TimeBankView(msgspec.Struct, frozen=True):
    """A volunteer's balance, by bucket, and the cap."""

    own_minutes: int
    group_minutes: int
    total_minutes: int
    cap_minutes: int


class TransferOutcome(msgspec.Struct, frozen=True):
    """A transfer just made and the balance it left."""

    transaction_id: int
    kind: str
    minutes: int
    balance: TimeBankView


class Credited(msgspec.Struct, frozen=True):
    """What an earning put into the account and what the cap kept out."""

    transaction_id: int
    credited: int
    over_cap: int


class NotEnoughCoins(Conflict):
    """A transfer above the balance (409), saying which field to change."""

    kind = "insufficient-coins"


def beyond_own(balance: Balance, minutes: int, beyond: str) -> str | None:
    """Why `minutes` cannot be spent or given, which draws on own time only (None: they can): group-earned time
    would cover them but can only be donated, or `beyond`, the field's message when even the total falls short."""
    if minutes <= balance.own:
        return None
    return "Group-earned coins can only be donated" if minutes <= balance.total else beyond


def _view(balance: Balance, cap_minutes: int) -> TimeBankView:
    return TimeBankView(
        own_minutes=balance.own, group_minutes=balance.group, total_minutes=balance.total, cap_minutes=cap_minutes
    )


async def my_account(conn: asyncpg.Connection, who: Identity, *, cap_minutes: int) -> TimeBankView:
    """The caller's balance (zero before their first confirmed hour)."""
    account_id = await ledger_sql.find_volunteer_account(conn, who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS))
    balance = Balance(own=0, group=0) if account_id is None else await ledger_sql.balance(conn, account_id)
    return _view(balance, cap_minutes)


async def my_history(conn: asyncpg.Connection, who: Identity, *, limit: int, offset: int) -> list[HistoryRow]:
    """The caller's ledger history, latest first."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    account_id = await ledger_sql.find_volunteer_account(conn, volunteer_id)
    if account_id is None:
        return []
    return await ledger_sql.history(conn, account_id, volunteer_id, limit=limit, offset=offset)


async def lock_volunteers(conn: asyncpg.Connection, volunteer_ids: list[int]) -> None:
    """Open (if need be) and lock these volunteers' accounts, in id order, for the rest of the transaction."""
    accounts = [await ledger_sql.volunteer_account(conn, v) for v in sorted(set(volunteer_ids))]
    await ledger_sql.lock_accounts(conn, accounts)


async def credit_attendance(
    conn: asyncpg.Connection,
    *,
    attendance_id: int,
    volunteer_id: int,
    minutes: int,
    group: bool,
    cap_minutes: int,
    decided_by: int,
) -> Credited:
    """Turn confirmed minutes into coins, up to the cap (call inside the confirming transaction)."""
    account_id = await ledger_sql.volunteer_account(conn, volunteer_id)
    await ledger_sql.lock_accounts(conn, [account_id])
    held = (await ledger_sql.balance(conn, account_id)).total
    credited = max(0, min(minutes, cap_minutes - held))
    bucket = "group" if group else "own"
    issuance = await ledger_sql.system_account(conn, "issuance")
    transaction_id = await ledger_sql.post(
        conn,
        kind="earn",
        entries=[(account_id, bucket, credited), (issuance, bucket, -credited)],
        created_by=decided_by,
        attendance_id=attendance_id,
        over_cap_minutes=minutes - credited,
    )
    return Credited(transaction_id=transaction_id, credited=credited, over_cap=minutes - credited)


def _check_form(form: Transfer) -> None:
    errors: dict[str, str] = {}
    if form.kind == "give" and not (form.to_username or "").strip():
        errors["to_username"] = "Enter the username of your family member's volunteer account"
    if form.kind == "spend" and form.service not in SERVICES:
        errors["service"] = "Choose a service"
    if errors:
        raise Invalid("The transfer is not valid", fields=errors)


async def transfer(conn: asyncpg.Connection, who: Identity, form: Transfer, *, cap_minutes: int) -> TransferOutcome:
    """Give, spend or donate coins; refused (409) above the balance, and for give/spend above the own time."""
    volunteer_id = who.volunteer_id_or_refuse(_ONLY_VOLUNTEERS)
    _check_form(form)
    async with conn.transaction():
        mine = await ledger_sql.volunteer_account(conn, volunteer_id)
        other: int
        if form.kind == "give":
            recipient = await ledger_sql.volunteer_by_username(conn, (form.to_username or "").strip())
            if recipient is None:
                raise Invalid(
                    "The transfer is not valid", fields={"to_username": "There is no volunteer with this username"}
                )
            if recipient == volunteer_id:
                raise Invalid("The transfer is not valid", fields={"to_username": "You cannot give coins to yourself"})
            other = await ledger_sql.volunteer_account(conn, recipient)
        else:
            other = await ledger_sql.system_account(conn, "services" if form.kind == "spend" else "pool")
        # Both volunteer accounts of a gift are locked (in id order); a system account is never locked, so
        # donations and spendings from different people never queue behind each other.
        await ledger_sql.lock_accounts(conn, [mine, other] if form.kind == "give" else [mine])
        balance = await ledger_sql.balance(conn, mine)
        if form.kind == "donate":
            if form.minutes > balance.total:
                raise NotEnoughCoins(
                    "You do not have that many time coins", fields={"minutes": "This is more than your balance"}
                )
            from_group = min(balance.group, form.minutes)
            from_own = form.minutes - from_group
            entries = [(mine, "group", -from_group), (mine, "own", -from_own)]
            entries += [(other, "group", from_group), (other, "own", from_own)]
        else:
            if message := beyond_own(balance, form.minutes, "This is more than your balance"):
                raise NotEnoughCoins("You do not have that many time coins", fields={"minutes": message})
            if form.kind == "give":
                held = (await ledger_sql.balance(conn, other)).total
                if held + form.minutes > cap_minutes:
                    raise Conflict(
                        "Your family member's account would pass the time bank's cap",
                        fields={"to_username": "This account would pass the time bank's cap"},
                    )
            entries = [(mine, "own", -form.minutes), (other, "own", form.minutes)]
        transaction_id = await ledger_sql.post(
            conn,
            kind=form.kind,
            entries=entries,
            created_by=who.account_id,
            service=form.service if form.kind == "spend" else None,
            memo=form.memo.strip(),
        )
        await audit_log.record(
            conn, who, f"timebank.{form.kind}", "ledger_transaction", transaction_id, detail={"minutes": form.minutes}
        )
        after = await ledger_sql.balance(conn, mine)
    return TransferOutcome(
        transaction_id=transaction_id, kind=form.kind, minutes=form.minutes, balance=_view(after, cap_minutes)
    )


def coins(minutes: int) -> str:
    """Minutes as time coins (hours), with up to two decimals: 90 → '1.5'."""
    return f"{minutes / MINUTES_PER_COIN:.2f}".rstrip("0").rstrip(".")


def minutes_of_coins(text: str) -> int | None:
    """Coins typed on a page ('1.5') as whole minutes, or None if not a positive number."""
    try:
        value = float(text.strip())
    except ValueError:
        return None
    if not value > 0 or value > 1_000_000:
        return None
    return round(value * MINUTES_PER_COIN)
