"""Response structs of the household register (服务对象家庭); one household's details are teams.HouseholdOut."""

from __future__ import annotations

from api.schemas.common import PageOut
from api.services.households import RegisterItem


class RegisterItemOut(RegisterItem, frozen=True):
    """A household in the committee's register: its name and an address masked to the lane."""


class RegisterPageOut(PageOut, frozen=True):
    """A page of the register."""

    items: list[RegisterItemOut]
