"""Response structs of the household register (服务对象家庭); one household's details are teams.HouseholdOut."""

from __future__ import annotations

import datetime as dt

import msgspec


class RegisterItemOut(msgspec.Struct, frozen=True):
    """A household in the committee's register: its name and an address masked to the lane."""

    id: int
    head_name: str
    masked_address: str
    members: int
    empty_nest: bool
    care_level: int | None
    visit_slots: list[str]
    updated_at: dt.datetime
    archived_at: dt.datetime | None


class RegisterPageOut(msgspec.Struct, frozen=True):
    """A page of the register."""

    items: list[RegisterItemOut]
    total: int
    limit: int
    offset: int
