"""Notifications: queued in the caller's transaction, delivered by the outbox cron through a sender, read in the inbox.

A notification is a kind and parameters (never text, never personal data); pages and senders turn it into words in
the reader's language when they show or send it. Senders are adapters behind one interface: a log sender by
default, email over SMTP, and SMS through an HTTP gateway, chosen by LINLI_NOTIFY_SENDER.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import smtplib
import ssl
import urllib.request
from email.message import EmailMessage
from typing import Annotated, Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import asyncpg
import msgspec
import structlog

from api.services import audit_log
from api.services.accounts import Identity
from api.services.errors import Invalid, NotFound
from api.services.types import NO_NUL, SHANGHAI
from sql import notifications as notifications_sql
from sql.notifications import ContactRow, NotificationRow, OutgoingRow

log = structlog.get_logger("linli.notifications")

KINDS = (
    "shift_reminder", "waitlist_promoted", "signup_cancelled", "shift_cancelled", "roster_proposal",
    "household_cap_reached", "confirm_request", "place_released", "handover_taken", "handover_requested",
    "handover_declined", "group_added", "visit_incident", "visits_changed", "visit_moved",
    "visit_cancelled",
)  # fmt: skip
BATCH_SIZE = 50
# One cron run delivers at most this many batches, so it ends well inside the job timeout.
MAX_BATCHES = 20
SEND_TIMEOUT_S = 10.0


class Message(msgspec.Struct, frozen=True):
    """What a sender sends: the words, and where the recipient can be reached (either may be missing)."""

    notification_id: int
    kind: str
    subject: str
    body: str
    email: str | None
    phone: str | None


class Sender(Protocol):
    """Delivers one message; returns the channel used ('inapp' when the recipient has no address for it)."""

    name: str

    async def send(self, message: Message) -> str:
        """Send, or raise to have the outbox retry later."""
        ...


class LogSender:
    """The default: writes a log line with the kind and id only (no address, no words, no names)."""

    name = "log"

    async def send(self, message: Message) -> str:
        """Log that the notification went out."""
        log.info("notification delivered", kind=message.kind, notification_id=message.notification_id)
        return "log"


class EmailSender:
    """Email over SMTP (the standard library's smtplib, run in a thread)."""

    name = "email"

    def __init__(self, smtp_url: str, from_address: str) -> None:
        parts = urlsplit(smtp_url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("LINLI_SMTP_URL must look like smtp://user:password@host:587?starttls=1")
        self.host = parts.hostname
        self.tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true", "yes")
        self.from_address = from_address

    def _send_now(self, message: Message) -> None:
        mail = EmailMessage()
        mail["From"] = self.from_address
        mail["To"] = message.email
        mail["Subject"] = message.subject
        mail.set_content(message.body)
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.tls:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=SEND_TIMEOUT_S, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=SEND_TIMEOUT_S)
        with smtp:
            if self.starttls:
                smtp.starttls(context=context)
            if self.user is not None:
                smtp.login(self.user, self.password or "")
            smtp.send_message(mail)

    async def send(self, message: Message) -> str:
        """Email the recipient, if they left an address."""
        if not message.email:
            return "inapp"
        await asyncio.to_thread(self._send_now, message)
        return "email"


class SmsSender:
    """SMS through an HTTP gateway: a JSON POST of {"to", "text"} with a bearer token (urllib, in a thread)."""

    name = "sms"

    def __init__(self, gateway_url: str, token: str | None) -> None:
        if urlsplit(gateway_url).scheme not in ("http", "https"):
            raise ValueError("LINLI_SMS_GATEWAY_URL must be an http(s) URL")
        self.gateway_url = gateway_url
        self.token = token

    def _send_now(self, message: Message) -> None:
        body = json.dumps({"to": message.phone, "text": message.body}, ensure_ascii=False).encode()
        request = urllib.request.Request(self.gateway_url, data=body, method="POST")  # noqa: S310 (http(s) only)
        request.add_header("content-type", "application/json; charset=utf-8")
        if self.token:
            request.add_header("authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(request, timeout=SEND_TIMEOUT_S) as response:  # noqa: S310 (http(s) only)
            if response.status >= 300:
                raise RuntimeError("SmsGatewayRefused")

    async def send(self, message: Message) -> str:
        """Text the recipient, if a phone number is known."""
        if not message.phone:
            return "inapp"
        await asyncio.to_thread(self._send_now, message)
        return "sms"


def make_sender(
    name: str,
    *,
    smtp_url: str | None = None,
    smtp_from: str = "linli@localhost",
    sms_gateway_url: str | None = None,
    sms_gateway_token: str | None = None,
) -> Sender:
    """The sender a setting names: 'log', 'email' or 'sms'."""
    if name == "log":
        return LogSender()
    if name == "email":
        if not smtp_url:
            raise ValueError("LINLI_NOTIFY_SENDER=email needs LINLI_SMTP_URL")
        return EmailSender(smtp_url, smtp_from)
    if name == "sms":
        if not sms_gateway_url:
            raise ValueError("LINLI_NOTIFY_SENDER=sms needs LINLI_SMS_GATEWAY_URL")
        return SmsSender(sms_gateway_url, sms_gateway_token)
    raise ValueError(f"LINLI_NOTIFY_SENDER must be log, email or sms, not {name!r}")


async def send_now(sender: Sender, message: Message) -> str | None:
    """Send a message that cannot wait for the outbox and is stored nowhere in words (a password reset code); the
    channel used, or None when the sender failed (logged by kind and id only: the person simply asks again)."""
    try:
        return await sender.send(message)
    except Exception as exc:  # any failure of a sender; the code is not retried from anywhere
        log.warning("direct delivery failed", kind=message.kind, notification_id=message.notification_id,
                    error=type(exc).__name__)  # fmt: skip
        return None


# --- Queueing, in the caller's transaction ---------------------------------------------------------------------


async def enqueue(
    conn: asyncpg.Connection,
    *,
    account_id: int,
    kind: str,
    dedupe_key: str,
    shift_id: int | None = None,
    params: dict[str, Any] | None = None,
    due_at: dt.datetime | None = None,
) -> int | None:
    """Queue a notification beside the event that causes it; None when its dedupe key was used already."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    return await notifications_sql.insert(
        conn,
        account_id=account_id,
        kind=kind,
        shift_id=shift_id,
        params=params or {},
        dedupe_key=dedupe_key,
        due_at=due_at,
    )


async def signup_cancelled(
    conn: asyncpg.Connection, *, shift_id: int, signup_id: int, late: bool, promoted_volunteer_id: int | None
) -> None:
    """A held place was given up: tell the shift's publisher, and the person who got the place from the waitlist."""
    await notifications_sql.insert_for_publisher(
        conn,
        shift_id=shift_id,
        kind="signup_cancelled",
        params={"signup_id": signup_id, "late": late, "promoted": promoted_volunteer_id is not None},
        dedupe_key=f"signup_cancelled:signup:{signup_id}",
    )
    if promoted_volunteer_id is not None:
        await notifications_sql.insert_promoted(conn, shift_id, promoted_volunteer_id)


async def place_released(
    conn: asyncpg.Connection, *, signup_id: int, shift_id: int, promoted_volunteer_id: int | None
) -> None:
    """An unconfirmed place was released at the cut-off: tell its holder, and whoever got it from the waitlist."""
    await notifications_sql.insert_released(conn, signup_id)
    if promoted_volunteer_id is not None:
        await notifications_sql.insert_promoted(conn, shift_id, promoted_volunteer_id)


async def roster_proposed(conn: asyncpg.Connection, run_id: int) -> int:
    """A roster run proposed places: tell each volunteer who got new ones (once per run and volunteer)."""
    return await notifications_sql.insert_roster_proposed(conn, run_id)


# --- The inbox ----------------------------------------------------------------------------------------------------


async def inbox(
    conn: asyncpg.Connection, who: Identity, *, unread_only: bool = False, limit: int = 20, offset: int = 0
) -> list[NotificationRow]:
    """The caller's notifications that have fallen due, newest first."""
    return await notifications_sql.inbox(conn, who.account_id, unread_only=unread_only, limit=limit, offset=offset)


async def unread_count(conn: asyncpg.Connection, who: Identity | None) -> int:
    """How many of the caller's notifications are unread (0 for anonymous callers)."""
    return 0 if who is None else await notifications_sql.count_unread(conn, who.account_id)


async def mark_read(conn: asyncpg.Connection, who: Identity, notification_id: int) -> None:
    """Mark one of the caller's notifications read (404 for anyone else's)."""
    if not await notifications_sql.mark_read(conn, notification_id, who.account_id):
        raise NotFound("No such notification")


async def mark_all_read(conn: asyncpg.Connection, who: Identity) -> int:
    """Mark all the caller's notifications read; how many were unread."""
    return await notifications_sql.mark_all_read(conn, who.account_id)


class ContactForm(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where the caller wants email and SMS reminders; an empty value removes it."""

    email: Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)] = ""
    phone: Annotated[str, msgspec.Meta(max_length=20, pattern=NO_NUL)] = ""


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9+\- ]{5,20}$")


async def contact(conn: asyncpg.Connection, who: Identity) -> ContactRow:
    """Where email and SMS reach the caller."""
    return await notifications_sql.get_contact(conn, who.account_id)


async def set_contact(conn: asyncpg.Connection, who: Identity, form: ContactForm) -> ContactRow:
    """Record where email and SMS reach the caller (the values never go into the audit log)."""
    email, phone = form.email.strip(), form.phone.strip()
    errors: dict[str, str] = {}
    if email and not _EMAIL.match(email):
        errors["email"] = "Enter an email address such as name@example.com"
    if phone and not _PHONE.match(phone):
        errors["phone"] = "Enter a phone number of 5 to 20 digits"
    if errors:
        raise Invalid("The contact details are not valid", fields=errors)
    async with conn.transaction():
        await notifications_sql.set_contact(conn, who.account_id, email or None, phone or None)
        await audit_log.record(
            conn, who, "notification.contact", "account", who.account_id,
            detail={"email": bool(email), "phone": bool(phone)},
        )  # fmt: skip
    return await notifications_sql.get_contact(conn, who.account_id)


# --- Delivery (the outbox cron) -----------------------------------------------------------------------------------

# Out-of-app words, per kind, in the recipient's language (pages use the gettext catalogue instead).
_SUBJECTS = {
    "shift_reminder": ("Shift reminder", "服务班次提醒"),
    "waitlist_promoted": ("You have a place", "候补转为报名成功"),
    "signup_cancelled": ("A volunteer cancelled", "志愿者取消报名"),
    "shift_cancelled": ("Shift cancelled", "服务班次已取消"),
    "roster_proposal": ("New roster proposals", "新的排班建议"),
    "household_cap_reached": (
        "A volunteer reached the daily limit of household files",
        "志愿者查看家庭档案已达当日上限",
    ),
    "confirm_request": ("Will you come? Please confirm your place", "请确认是否参加服务班次"),
    "place_released": ("Your place was released", "您的报名名额已释放"),
    "handover_taken": ("Your place was taken over", "您转让的名额已被接收"),
    "handover_requested": ("A volunteer asks to take an offered place", "有志愿者申请接收转让的名额"),
    "handover_declined": ("Your request for an offered place was not approved", "您接收转让名额的申请未获同意"),
    "group_added": ("You were signed up with a group", "您已随团体报名"),
    "visit_incident": ("A carer raised an incident on a home visit", "上门服务中发生事件，请当天处理"),
    "visits_changed": ("Your home visits changed", "您的上门服务安排有变"),
    "visit_moved": ("A household's home visit changed", "服务对象家庭的上门服务有变"),
    "visit_cancelled": ("A home visit on your route was cancelled", "您路线上的一次上门服务已取消"),
}
_BODIES = {
    "shift_reminder": (
        "Reminder: your shift {title} is tomorrow, {time}, at {place}.",
        "提醒：您明天有服务班次「{title}」，{time}，地点：{place}。",
    ),
    "waitlist_promoted": (
        "A place opened up: you now hold a place on {title}, {time}, at {place}.",
        "候补成功：您已获得服务班次「{title}」的名额，{time}，地点：{place}。",
    ),
    "signup_cancelled": (
        "A volunteer gave up a place on {title}, {time}.",
        "有志愿者取消了服务班次「{title}」（{time}）的报名。",
    ),
    "shift_cancelled": ("The shift {title}, {time}, was cancelled.", "服务班次「{title}」（{time}）已取消。"),
    "roster_proposal": (
        "You have {count} new roster proposal(s): accept or decline them under My roster proposals.",
        "您有 {count} 条新的排班建议，请在“我的排班建议”中接受或婉拒。",
    ),
    "household_cap_reached": (
        "A volunteer tried to open more household files today than the daily limit of {count}; please check.",
        "有志愿者今天试图查看的服务对象家庭档案超过每日上限（{count} 户），请核实。",
    ),
    "confirm_request": (
        "Will you come to {title}, {time}, at {place}? Please confirm your place, or cancel it so that someone "
        "waiting can have it.",
        "您报名的服务班次「{title}」（{time}，地点：{place}）即将开始，请确认是否参加；如不能参加，请取消，名额将让给候补者。",
    ),
    "place_released": (
        "Your place on {title}, {time}, was not confirmed in time and went to the waitlist.",
        "您报名的服务班次「{title}」（{time}）未在截止前确认，名额已让给候补者。",
    ),
    "handover_taken": (
        "The place you offered on {title}, {time}, was taken over: you no longer hold it.",
        "您转让的服务班次「{title}」（{time}）名额已被接收，您不再持有该名额。",
    ),
    "handover_requested": (
        "A volunteer asks to take a place offered on {title}, {time}: approve or decline it on the shift's page.",
        "有志愿者申请接收服务班次「{title}」（{time}）转让的名额，请在班次页面同意或拒绝。",
    ),
    "handover_declined": (
        "Your request to take the place offered on {title}, {time}, was not approved.",
        "您申请接收服务班次「{title}」（{time}）转让名额的请求未获同意。",
    ),
    "group_added": (
        "{leader} signed you up with the group {group} for {title}, {time}, at {place}. The place is yours: if you "
        "cannot come, cancel it on the shift's page.",
        "{leader} 已为您随团体「{group}」报名服务班次「{title}」（{time}，地点：{place}）。"
        "名额在您名下，如不能参加，请在班次页面取消。",
    ),
    "visit_incident": (
        "A carer raised an incident on a visit to one of your households: acknowledge it today on the incidents page.",
        "服务人员在上门服务中报告了一起事件，请当天在“上门事件”页面确认并处理。",
    ),
    "visits_changed": (
        "Your home visits on {day} were planned again: you now have {count} stop(s). See My visits.",
        "您 {day} 的上门服务已重新安排，现共 {count} 站，请查看“我的上门服务”。",
    ),
    "visit_moved": (
        "The home visit to {household} on {day} was planned again: it now starts at {at}, with another carer "
        "if one fell ill. Please let the household know.",
        "{household} {day} 的上门服务已重新安排，现于 {at} 开始（如护理员病假则由其他护理员上门），"
        "请告知服务对象家庭。",
    ),
    "visit_cancelled": (
        "The home visit to {household} on {day} at {at} was cancelled by the family: it is off your route, and your "
        "other stops stay as planned. See My visits.",
        "{household} {day} {at} 的上门服务已被家属取消，已从您的路线中移除，其余各站时间不变，请查看“我的上门服务”。",
    ),
}
# The confirm page of a sign-up (web/routes/confirmations.py), reached from email and SMS without logging in.
CONFIRM_PATH = "/confirm/{token}"
CANCEL_PATH = "/confirm/{token}/cancel"


def compose(row: OutgoingRow, public_url: str = "") -> Message:
    """The words of a notification in its recipient's language (links start with the site's public address)."""
    zh = row.locale != "en"
    when = row.shift_starts_at.astimezone(SHANGHAI) if row.shift_starts_at else None
    time = "" if when is None else (f"{when:%m月%d日 %H:%M}" if zh else f"{when:%d %b %H:%M}")
    body = _BODIES[row.kind][1 if zh else 0].format(
        title=row.shift_title or "",
        time=time,
        place=row.shift_place or "",
        count=row.params.get("count", 1),
        leader=row.params.get("leader", ""),
        group=row.params.get("group", ""),
        day=row.params.get("day", ""),
        household=row.params.get("household", ""),
        at=row.params.get("at", ""),
    )
    if row.kind == "signup_cancelled":
        if row.params.get("late"):
            body += "这是开始前的临时取消。" if zh else " It was a late cancellation."
        body += (
            ("候补者已自动递补。" if zh else " Someone from the waitlist took the place.")
            if row.params.get("promoted")
            else ("名额已重新开放。" if zh else " The place is open again.")
        )
    token = row.params.get("token")
    if row.kind == "confirm_request" and isinstance(token, str):
        base = public_url.rstrip("/")
        confirm, cancel = base + CONFIRM_PATH.format(token=token), base + CANCEL_PATH.format(token=token)
        body += f"确认参加：{confirm} 取消报名：{cancel}" if zh else f" Confirm: {confirm} Cancel: {cancel}"
    return Message(
        notification_id=row.id,
        kind=row.kind,
        subject=_SUBJECTS[row.kind][1 if zh else 0],
        body=body,
        email=row.email,
        phone=row.phone,
    )


def retry_delay(attempts: int) -> dt.timedelta:
    """How long to wait after the n-th failed attempt: 1, 2, 4, … minutes, at most six hours."""
    return dt.timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


class OutboxOutcome(msgspec.Struct, frozen=True):
    """What one run of the outbox did."""

    reminders: int
    withdrawn: int
    sent: int
    retrying: int
    failed: int


async def run_outbox(
    conn: asyncpg.Connection,
    sender: Sender,
    *,
    now: dt.datetime | None = None,
    max_attempts: int = 5,
    batch_size: int = BATCH_SIZE,
    public_url: str = "",
) -> OutboxOutcome:
    """Write the reminders that fell due, drop stale ones, then deliver what is due, batch by batch."""
    now = now or dt.datetime.now(dt.UTC)
    async with conn.transaction():
        reminders = await notifications_sql.insert_due_reminders(conn, now)
        withdrawn = await notifications_sql.withdraw_stale_reminders(conn, now)
    sent = retrying = failed = 0
    for _ in range(MAX_BATCHES):
        async with conn.transaction():
            claimed = await notifications_sql.claim_due(conn, now, batch_size)
            for row in claimed:
                if row.disabled:
                    await notifications_sql.mark_withdrawn(conn, row.id)
                    withdrawn += 1
                    continue
                try:
                    channel = await sender.send(compose(row, public_url))
                except Exception as exc:  # any failure of a sender is retried later
                    attempts = row.attempts + 1
                    status = await notifications_sql.mark_attempt_failed(
                        conn, row.id, type(exc).__name__, now + retry_delay(attempts), max_attempts
                    )
                    # The exception's text is not logged: an SMTP or gateway error may quote the address.
                    log.warning("notification delivery failed", kind=row.kind, notification_id=row.id,
                                error=type(exc).__name__, attempts=attempts)  # fmt: skip
                    if status == "failed":
                        failed += 1
                    else:
                        retrying += 1
                    continue
                await notifications_sql.mark_sent(conn, row.id, dt.datetime.now(dt.UTC), channel)
                sent += 1
        if len(claimed) < batch_size:
            break
    return OutboxOutcome(reminders=reminders, withdrawn=withdrawn, sent=sent, retrying=retrying, failed=failed)
