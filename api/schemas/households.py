"""Response structs of the household register (服务对象家庭); one household's details are teams.HouseholdOut."""

from __future__ import annotations

import msgspec

from api.schemas.common import PageOut
from api.services.households import RegisterItem
from sql.household_access import OpeningRow


class RegisterItemOut(RegisterItem, frozen=True):
    """A household in the committee's register: its name and an address masked to the lane."""


class RegisterPageOut(PageOut, frozen=True):
    """A page of the register."""

    items: list[RegisterItemOut]


class OpeningOut(OpeningRow, frozen=True):
    """One view of a household's file: who (name, role), when, and on what basis (shift, team, committee, contract)."""


class ConfirmedOut(msgspec.Struct, frozen=True):
    """The household a volunteer was just confirmed for."""

    household_id: int
