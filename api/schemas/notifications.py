"""Response structs for notifications (the in-app inbox)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from sql.notifications import ContactRow


class NotificationOut(msgspec.Struct, frozen=True):
    """A notification: its kind and parameters (clients word it in their language), the shift it is about."""

    id: int
    kind: str
    shift_id: int | None
    shift_title: str | None
    shift_starts_at: dt.datetime | None
    params: dict[str, Any]
    due_at: dt.datetime
    read_at: dt.datetime | None


class InboxOut(msgspec.Struct, frozen=True):
    """The caller's notifications, newest first, and how many are unread."""

    unread: int
    items: list[NotificationOut]


class ReadOut(msgspec.Struct, frozen=True):
    """A notification marked read."""

    id: int
    read: bool


class ContactOut(ContactRow, frozen=True):
    """Where email and SMS reminders reach the caller (null where not given)."""
