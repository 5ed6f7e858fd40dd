"""Importing a committee's Excel registers: a good households sheet imports every row with its consent, audited; one
bad row imports none and names its row and column; a household without its consent ticked refuses the import;
repeats in the sheet and of the register are errors on the row; a file that is not XLSX is refused by its bytes; a
second confirm imports nothing more; volunteers become profiles without accounts in the committee's area."""

from __future__ import annotations

import asyncio
import importlib.util
import io
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from api.i18n import merged_catalog
from api.services import households, register_imports
from api.services.errors import Conflict, Invalid, NotFound
from api.services.register_imports import Issue, Limits, Refused
from tests.factories import create_volunteer
from tests.factories_tendering import create_district
from tests.test_households_service import command, committee

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "data" / "imports" / "households_bad_row.xlsx"
LIMITS = Limits(max_bytes=2 * 1024 * 1024, max_rows=50, minutes=30)
HOUSEHOLD_HEADERS = ["姓名", "门牌/地址", "人数", "联系电话", "是否独居/空巢", "护理等级", "备注", "知情同意"]


def sheet(headers: list[str], rows: list[list[Any]], *, title: str | None = None) -> bytes:
    """An XLSX workbook whose first sheet has an optional title row, the headers and the rows."""
    workbook = openpyxl.Workbook()
    ws = workbook.active
    assert ws is not None
    if title:
        ws.append([title])
    ws.append(headers)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def household_rows(n: int = 3, consent: str = "是") -> list[list[Any]]:
    return [[f"老人{i}", f"民京路{700 + i}弄{i}号101室", 1, f"1380000{i:04d}", "是", 2, "", consent] for i in range(n)]


async def setting(conn):
    d = await create_district(conn)
    return d, committee(d.committee_account, d.committee_id), committee(d.other_committee_account, d.other_committee_id)


async def count(conn, table: str, committee_id: int) -> int:
    if table == "households":
        return int(await conn.fetchval("SELECT count(*) FROM households WHERE committee_id = $1", committee_id))
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM volunteers v JOIN committees c ON c.area_id = v.home_area_id WHERE c.id = $1",
            committee_id,
        )
    )


def row_issues(preview) -> list[tuple[int | None, str, str]]:
    return [(i.row, i.column, i.message) for r in preview.rows for i in r.issues] + [
        (i.row, i.column, i.message) for i in preview.issues
    ]


async def test_a_good_households_sheet_imports_every_row_with_its_consent_and_audit(conn):
    d, own, _ = await setting(conn)
    public_id = await register_imports.upload(
        conn, own, "households", "名册.xlsx", sheet(HOUSEHOLD_HEADERS, household_rows()), LIMITS
    )
    preview = await register_imports.preview(conn, own, public_id, LIMITS)
    assert preview.error_count == 0 and [r.row for r in preview.rows] == [2, 3, 4]
    assert preview.rows[0].detail == "民京路700弄**号" and all(r.consent_in_sheet for r in preview.rows)
    assert preview.not_understood == [] and preview.columns[0] == ("姓名", "head_name")
    done = await register_imports.confirm(conn, own, public_id, {2, 3, 4}, LIMITS)
    assert (done.imported, done.already) == (3, False)
    stored = await conn.fetch(
        "SELECT h.id, h.head_name, h.phone, h.care_level, h.consent_recorded_at, h.lat, a.lat AS centre"
        " FROM households h JOIN register_imports i ON i.id = h.import_id JOIN committees c ON c.id = h.committee_id"
        " JOIN areas a ON a.id = c.area_id WHERE i.public_id = $1::uuid ORDER BY h.id",
        public_id,
    )
    assert [r["head_name"] for r in stored] == ["老人0", "老人1", "老人2"]
    assert all(
        r["consent_recorded_at"] is not None and r["care_level"] == 2 and r["lat"] == r["centre"] for r in stored
    )
    log = await conn.fetch(
        "SELECT action, object_id, detail::text AS detail FROM audit_log"
        " WHERE action IN ('household.created', 'register.imported') ORDER BY id"
    )
    assert [r["action"] for r in log] == ["household.created"] * 3 + ["register.imported"]
    assert {int(r["object_id"]) for r in log[:3]} == {r["id"] for r in stored}
    assert all("老人" not in r["detail"] and "民京路" not in r["detail"] for r in log)
    assert await conn.fetchval("SELECT content FROM register_imports WHERE public_id = $1::uuid", public_id) is None
    # The register lists them like any other household, the address masked.
    page = await households.list_register(conn, own, households.RegisterFilters(q="老人"), limit=10, offset=0)
    assert page.total == 3 and page.items[0].masked_address.endswith("**号")
    assert d.committee_id


async def test_the_sample_with_a_bad_row_imports_nothing_and_names_the_row_and_column(conn):
    d, own, _ = await setting(conn)
    public_id = await register_imports.upload(conn, own, "households", SAMPLE.name, SAMPLE.read_bytes(), LIMITS)
    preview = await register_imports.preview(conn, own, public_id, LIMITS)
    assert row_issues(preview) == [(6, "联系电话", register_imports.BAD_PHONE)]
    assert preview.sheet == "登记表" and preview.not_understood == ["楼组长"] and preview.ignored == ["序号"]
    assert [r.row for r in preview.rows] == [3, 4, 5, 6, 7, 8]
    before = await count(conn, "households", d.committee_id)
    with pytest.raises(Refused) as refused:
        await register_imports.confirm(conn, own, public_id, {3, 4, 5, 6, 7, 8}, LIMITS)
    assert row_issues(refused.value.preview) == [(6, "联系电话", register_imports.BAD_PHONE)]
    assert await count(conn, "households", d.committee_id) == before
    # Refused, the upload still waits: corrected in the sheet, it is uploaded again.
    assert (
        await conn.fetchval("SELECT confirmed_at FROM register_imports WHERE public_id = $1::uuid", public_id) is None
    )


async def test_a_household_without_its_consent_ticked_refuses_the_whole_import(conn):
    d, own, _ = await setting(conn)
    rows = household_rows(3)
    rows[1][-1] = "否"
    public_id = await register_imports.upload(conn, own, "households", "a.xlsx", sheet(HOUSEHOLD_HEADERS, rows), LIMITS)
    preview = await register_imports.preview(conn, own, public_id, LIMITS)
    assert [r.consent_in_sheet for r in preview.rows] == [True, False, True] and preview.error_count == 0
    with pytest.raises(Refused) as refused:
        await register_imports.confirm(conn, own, public_id, {2, 4}, LIMITS)
    assert row_issues(refused.value.preview) == [(3, "知情同意", register_imports.NO_CONSENT)]
    assert await count(conn, "households", d.committee_id) == 0
    # The consent column in the sheet is not enough on its own: the staff confirm each box.
    with pytest.raises(Refused):
        await register_imports.confirm(conn, own, public_id, set(), LIMITS)
    done = await register_imports.confirm(conn, own, public_id, {2, 3, 4}, LIMITS)
    assert done.imported == 3


async def test_repeats_in_the_sheet_and_of_the_register_are_errors_on_their_rows(conn):
    d, own, _ = await setting(conn)
    await households.create_household(conn, own, command(address="民京路800弄1号101室"))
    rows = household_rows(2)
    rows.append(["重复", " 民京路７００弄0号101室 ", 1, "", "是", "", "", "是"])  # row 2 again, spaced and full-width
    rows.append(["已登记", "民京路800弄1号101室", 1, "", "是", "", "", "是"])
    public_id = await register_imports.upload(conn, own, "households", "a.xlsx", sheet(HOUSEHOLD_HEADERS, rows), LIMITS)
    preview = await register_imports.preview(conn, own, public_id, LIMITS)
    assert row_issues(preview) == [
        (4, "门牌/地址", register_imports.SAME_AS_ROW),
        (5, "门牌/地址", register_imports.ALREADY_REGISTERED),
    ]
    assert preview.rows[2].issues[0].params == {"row": "2"}
    with pytest.raises(Refused):
        await register_imports.confirm(conn, own, public_id, {2, 3, 4, 5}, LIMITS)
    assert await count(conn, "households", d.committee_id) == 1


async def test_files_that_are_not_xlsx_workbooks_are_refused_by_their_bytes(conn):
    _, own, _ = await setting(conn)
    bare_zip = io.BytesIO()
    with zipfile.ZipFile(bare_zip, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    cases = {
        "姓名,门牌/地址\n王秀英,民京路1号\n".encode(): register_imports.NOT_XLSX,
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500: register_imports.OLD_XLS,
        b"PK\x03\x04 not really a zip": register_imports.NOT_XLSX,
        bare_zip.getvalue(): register_imports.NOT_XLSX,
        b"": register_imports.EMPTY_FILE,
        b"PK\x03\x04" + b"\x00" * (LIMITS.max_bytes + 1): register_imports.TOO_LARGE,
    }
    for content, message in cases.items():
        with pytest.raises(Invalid) as refused:
            await register_imports.upload(conn, own, "households", "名册.xlsx", content, LIMITS)
        assert refused.value.fields == {"file": message}, content[:20]
    assert await conn.fetchval("SELECT count(*) FROM register_imports") == 0


async def test_a_second_confirm_imports_nothing_more_and_says_it_was_done(conn):
    d, own, _ = await setting(conn)
    public_id = await register_imports.upload(
        conn, own, "households", "a.xlsx", sheet(HOUSEHOLD_HEADERS, household_rows()), LIMITS
    )
    first = await register_imports.confirm(conn, own, public_id, {2, 3, 4}, LIMITS)
    again = await register_imports.confirm(conn, own, public_id, {2, 3, 4}, LIMITS)
    assert (first.already, again.already, again.imported) == (False, True, 3)
    assert await count(conn, "households", d.committee_id) == 3
    preview = await register_imports.preview(conn, own, public_id, LIMITS)
    assert preview.confirmed_at is not None and preview.imported == 3 and preview.rows == []


async def test_another_committees_upload_reads_as_missing_and_an_expired_one_must_be_uploaded_again(conn):
    _, own, other = await setting(conn)
    public_id = await register_imports.upload(
        conn, own, "households", "a.xlsx", sheet(HOUSEHOLD_HEADERS, household_rows()), LIMITS
    )
    with pytest.raises(NotFound):
        await register_imports.preview(conn, other, public_id, LIMITS)
    with pytest.raises(NotFound):
        await register_imports.confirm(conn, other, public_id, {2, 3, 4}, LIMITS)
    with pytest.raises(NotFound):
        await register_imports.preview(conn, own, "not-a-uuid", LIMITS)
    await conn.execute(
        "UPDATE register_imports SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 hour'"
        " WHERE public_id = $1::uuid",
        public_id,
    )
    assert (await register_imports.preview(conn, own, public_id, LIMITS)).expired
    with pytest.raises(Conflict):
        await register_imports.confirm(conn, own, public_id, {2, 3, 4}, LIMITS)
    # The worker's job (and the next upload) drops the expired file.
    assert await register_imports.drop_expired(conn) == 1
    assert await register_imports.drop_expired(conn) == 0
    await register_imports.upload(conn, own, "households", "b.xlsx", sheet(HOUSEHOLD_HEADERS, household_rows()), LIMITS)
    assert await conn.fetchval("SELECT content FROM register_imports WHERE public_id = $1::uuid", public_id) is None


async def test_sheet_level_problems_missing_columns_no_header_and_too_many_rows(conn):
    _, own, _ = await setting(conn)
    cases = [
        (sheet(["姓名", "人数"], [["王", 1]]), [(None, "门牌/地址", register_imports.MISSING_COLUMN)]),
        (sheet(["甲", "乙"], [["王", 1]]), [(None, "", register_imports.NO_HEADER)]),
        (sheet(["姓名", "地址"], []), [(None, "", register_imports.NO_ROWS)]),
        (
            sheet(["姓名", "地址"], [[f"王{i}", f"路{i}号"] for i in range(51)]),
            [(None, "", register_imports.TOO_MANY_ROWS)],
        ),
    ]
    for content, expected in cases:
        public_id = await register_imports.upload(conn, own, "households", "a.xlsx", content, LIMITS)
        preview = await register_imports.preview(conn, own, public_id, LIMITS)
        assert row_issues(preview) == expected
        with pytest.raises(Refused):
            await register_imports.confirm(conn, own, public_id, set(), LIMITS)


async def test_cells_as_committees_write_them_are_understood_and_wrong_ones_named(conn):
    _, own, _ = await setting(conn)
    headers = [
        "户主 ",
        "住址（门牌号）",
        "家庭人数",
        "电话",
        "空巢",
        "长护险等级",
        "方言",
        "注意事项",
        "同意书",
        "身份证号",
        "网格员",
    ]
    rows = [
        ["张三", "民京路1号", "2人", 13800001111, "√", "三级", "上海话、苏北话", "", "已签", "", "王"],
        ["李四", "", "二十", "12", "也许", "7", "", "", "也许", "", ""],
    ]
    public_id = await register_imports.upload(
        conn, own, "households", "a.xlsx", sheet(headers, rows, title="登记表"), LIMITS
    )
    preview = await register_imports.preview(conn, own, public_id, LIMITS)
    assert preview.not_understood == ["网格员"] and preview.ignored == ["身份证号"]
    assert preview.rows[0].issues == [] and preview.rows[0].facts == ["2"]
    assert [(i.column, i.message) for i in preview.rows[1].issues] == [
        ("住址（门牌号）", register_imports.REQUIRED_VALUE),
        ("电话", register_imports.BAD_PHONE),
        ("家庭人数", register_imports.BAD_MEMBERS),
        ("空巢", register_imports.BAD_YES_NO),
        ("长护险等级", register_imports.BAD_CARE_LEVEL),
        ("同意书", register_imports.BAD_YES_NO),
    ]


VOLUNTEER_HEADERS = ["姓名", "手机号码", "年龄", "特长", "方言", "每周可服务小时"]


async def test_volunteers_become_profiles_without_accounts_in_the_committees_area(conn):
    d, own, _ = await setting(conn)
    area_id = await conn.fetchval("SELECT area_id FROM committees WHERE id = $1", d.committee_id)
    existing = await create_volunteer(conn, home_area_id=area_id)
    await conn.execute("UPDATE volunteers SET phone = '13900000009' WHERE id = $1", existing)
    rows = [
        ["李建国", "139 0000 0001", 66, "急救、开车", "上海话", 6],
        ["王芳", "13900000002", "40岁", "", "", ""],
        ["重号", "13900000001", 50, "", "", ""],
        ["老会员", "13900000009", 50, "", "", ""],
        ["小朋友", "13900000003", 12, "织毛衣", "", "99"],
    ]
    public_id = await register_imports.upload(conn, own, "volunteers", "v.xlsx", sheet(VOLUNTEER_HEADERS, rows), LIMITS)
    preview = await register_imports.preview(conn, own, public_id, LIMITS)
    assert row_issues(preview) == [
        (4, "手机号码", register_imports.SAME_PHONE_AS_ROW),
        (5, "手机号码", register_imports.ALREADY_VOLUNTEER),
        (6, "年龄", register_imports.TOO_YOUNG),
        (6, "特长", register_imports.UNKNOWN_SKILL),
        (6, "每周可服务小时", register_imports.BAD_HOURS),
    ]
    assert preview.rows[0].detail == "139****0001"
    with pytest.raises(Refused):
        await register_imports.confirm(conn, own, public_id, set(), LIMITS)
    good = await register_imports.upload(conn, own, "volunteers", "v.xlsx", sheet(VOLUNTEER_HEADERS, rows[:2]), LIMITS)
    assert (await register_imports.confirm(conn, own, good, set(), LIMITS)).imported == 2
    stored = await conn.fetch(
        "SELECT account_id, display_name, phone, birth_year, skills, languages, weekly_hour_cap, home_area_id"
        " FROM volunteers WHERE import_id IS NOT NULL ORDER BY id"
    )
    this_year = register_imports.today().year
    assert [dict(r) for r in stored] == [
        {"account_id": None, "display_name": "李建国", "phone": "13900000001", "birth_year": this_year - 66,
         "skills": ["driving", "first_aid"], "languages": ["上海话"], "weekly_hour_cap": 6, "home_area_id": area_id},
        {"account_id": None, "display_name": "王芳", "phone": "13900000002", "birth_year": this_year - 40,
         "skills": [], "languages": [], "weekly_hour_cap": 8, "home_area_id": area_id},
    ]  # fmt: skip
    actions = await conn.fetch("SELECT action FROM audit_log WHERE action LIKE '%imported' ORDER BY id")
    assert [r["action"] for r in actions] == ["volunteer.imported"] * 2 + ["register.imported"]


def test_the_template_reads_back_with_every_column_understood():
    for kind in register_imports.KINDS:
        content = register_imports.template_workbook(kind)
        read = register_imports.read_sheet(content, kind, 10)
        assert not isinstance(read, Issue)
        assert read.rows == [] and all(register_imports.field_of(h, kind) for h in read.headers)
        assert list(register_imports.TEMPLATE_HEADERS[kind].values()) == read.headers


def test_every_message_of_the_import_has_a_chinese_translation():
    catalogue = merged_catalog("zh_CN")
    for message in register_imports.MESSAGES:
        assert catalogue.get(message) is not None and catalogue.get(message).string, message


def test_the_committed_sample_is_what_the_script_writes():
    spec = importlib.util.spec_from_file_location(
        "make_sample_registers", ROOT / "scripts" / "make_sample_registers.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    ws = openpyxl.load_workbook(SAMPLE, read_only=True).worksheets[0]
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    assert values[1] == script.HEADERS
    assert [[c if c is not None else "" for c in r] for r in values[2:]] == script.ROWS
    assert values[script.BAD_ROW - 1][4] == "138-0013-800X"


async def test_two_confirms_at_once_import_the_sheet_once(pool):
    async with pool.acquire() as conn:
        _, own, _ = await setting(conn)
        content = sheet(HOUSEHOLD_HEADERS, household_rows(3))
        public_id = await register_imports.upload(conn, own, "households", "a.xlsx", content, LIMITS)

    async def confirm():
        async with pool.acquire() as conn:
            return await register_imports.confirm(conn, own, public_id, {2, 3, 4}, LIMITS)

    results = await asyncio.gather(confirm(), confirm())
    assert sorted(r.already for r in results) == [False, True] and {r.imported for r in results} == {3}
    async with pool.acquire() as conn:
        assert await count(conn, "households", own.committee_id) == 3
