"""Response structs of the household register (服务对象家庭); one household's details are teams.HouseholdOut."""

from __future__ import annotations

import msgspec

from api.services.households import RegisterItem


class RegisterItemOut(RegisterItem, frozen=True):
    """A household in the committee's register: its name and an address masked to the lane."""


class RegisterPageOut(msgspec.Struct, frozen=True):
    """A page of the register."""

    items: list[RegisterItemOut]
    total: int
    limit: int
    offset: int
