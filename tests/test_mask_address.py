"""Address masking: the road and lane stay visible, a building, unit, floor, room or house number never does, and
a household that left keeps nothing of its address but its road and lane."""

from __future__ import annotations

import re

import asyncpg
import pytest

from api.services import household_access, households
from api.services.needs import mask_address, street_of
from tests.test_households_service import command, setting

# (address as a committee types it, what anyone else may see). Shanghai-style: 新村, 弄, 号, 号楼, 室, 单元, remarks
# in brackets with 近…, full-width digits, no lane, estate (小区) names, 路/街/道/巷/公路.
ADDRESSES = [
    ("控江路1018弄12号301室", "控江路1018弄**号"),
    ("开鲁新村7号楼301室（近开鲁路764弄）", "开鲁路764弄**号"),
    ("开鲁新村７号楼３０１室（近开鲁路７６４弄）", "开鲁路764弄**号"),
    ("上海市杨浦区控江路1018弄12号301室", "上海市杨浦区控江路1018弄**号"),
    ("长阳路1567弄 5 号 2 单元 3 层", "长阳路1567弄**号"),
    ("控江路1018号3号楼201室", "控江路**号"),
    ("国和路36号（近政立路）", "国和路**号"),
    ("沪太公路1234弄5号", "沪太公路1234弄**号"),
    ("虹口区山阴路132弄(大陆新村)6号", "虹口区山阴路132弄**号"),
    ("国权北路1450弄23号甲", "国权北路1450弄**号"),
    ("闵行区莘庄镇莘松路1弄1号1201室", "闵行区莘庄镇莘松路1弄**号"),
    ("黄浦区南京东路街道福州路1号", "黄浦区南京东路街道福州路**号"),
    ("浦东新区张杨路街1号", "浦东新区张杨路街**号"),
    ("复兴中路1195弄（近思南路）8号2楼", "复兴中路1195弄**号"),
    ("永嘉路横巷11号", "永嘉路横巷**号"),
    ("大连西路五号楼", "大连西路**号"),
    ("鞍山四村十二号楼302室", "鞍山四村**号"),
    ("殷行街道开鲁新村７号楼３０１室", "殷行街道开鲁新村**号"),
    ("阳光小区A座1201室", "阳光小区**号"),
    ("翔殷小区3栋2单元401", "翔殷小区**号"),
    ("中原小区B幢6层", "中原小区**号"),
    ("三号楼（靠近控江路1018弄）", "控江路1018弄**号"),
    ("2单元控江路1018弄5号", "控江路1018弄**号"),
    ("平凉路", "平凉路**号"),
    ("延吉东路", "延吉东路**号"),
    ("1号楼301室", "**"),
]
# What a mask must never show: a number that is not the lane's, or a word of a building, unit, floor or room.
_HOUSE_PART = re.compile(r"号楼|栋|幢|座|单元|室|层|\d+楼|\d+(?!\d*弄)|[０-９]")


@pytest.mark.parametrize(("address", "masked"), ADDRESSES)
def test_a_masked_address_keeps_the_road_and_lane_only(address: str, masked: str) -> None:
    assert mask_address(address) == masked
    street = masked.removesuffix("**号").removesuffix("**")
    assert street_of(address) == street and _HOUSE_PART.search(street) is None
    # Masking what is already masked changes nothing, so a stored street masks to the same text.
    assert mask_address(masked) == masked and mask_address(street) == masked


def test_the_leak_that_was_measured_is_closed() -> None:
    shown = mask_address("开鲁新村7号楼301室（近开鲁路764弄）")
    assert "7号楼" not in shown and "301" not in shown and "开鲁路764弄" in shown


async def test_a_household_that_leaves_keeps_only_its_road_and_lane(conn: asyncpg.Connection) -> None:
    _, own, _ = await setting(conn)
    leaky = "开鲁新村7号楼301室（近开鲁路764弄）"
    household_id = await households.create_household(conn, own, command(address=leaky))
    nameless = await households.create_household(conn, own, command(address="1号楼301室"))
    for left in (household_id, nameless):
        await households.archive_household(conn, own, left)
    stored = {
        r["id"]: r["address"]
        for r in await conn.fetch(
            "SELECT id, address FROM households WHERE id = ANY($1::bigint[])", [household_id, nameless]
        )
    }
    assert stored == {household_id: "开鲁路764弄", nameless: "**"}
    shown = await household_access.masked_household(conn, household_id)
    assert shown is not None and shown.masked_address == "开鲁路764弄**号"


async def test_the_schema_refuses_a_building_or_room_in_an_erased_address(conn: asyncpg.Connection) -> None:
    _, own, _ = await setting(conn)
    household_id = await households.create_household(conn, own, command())
    await households.archive_household(conn, own, household_id)
    for kept in ("控江路1018弄12号", "控江路1018弄**号", "开鲁新村7号楼301室", "控江路1018弄2单元", "控江路12"):
        with pytest.raises(asyncpg.CheckViolationError):
            async with conn.transaction():
                await conn.execute("UPDATE households SET address = $2 WHERE id = $1", household_id, kept)
