"""Import pages: the households register links to the import; the template downloads; an uploaded sheet shows every
row and its errors in Chinese; a wrong file comes back beside the field; confirming imports every row once, and a
second post of the same confirm says it was done; other roles and committees cannot."""

from __future__ import annotations

from pathlib import Path

from tests.factories import create_account, username_of
from tests.factories_tendering import create_district
from tests.helpers import csrf_token, login, post_form
from tests.pages_kit import page_context
from tests.test_register_imports import HOUSEHOLD_HEADERS, household_rows, sheet

SAMPLE = Path(__file__).resolve().parent / "data" / "imports" / "households_bad_row.xlsx"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _committee(client, conn):
    d = await create_district(conn)
    await login(client, await username_of(conn, d.committee_account))
    return d


async def _upload(client, kind: str, name: str, content: bytes):
    token = await csrf_token(client, f"/imports/{kind}")
    return await client.post(
        f"/imports/{kind}", data={"_csrf_token": token}, files={"file": (name, content, XLSX)}, follow_redirects=False
    )


async def test_the_register_links_to_the_import_and_the_template_downloads(client, conn):
    await _committee(client, conn)
    register = await client.get("/households")
    assert 'href="/imports/households"' in register.text and "从 Excel 导入" in register.text
    rendered = await page_context(client, "/imports/households")
    assert rendered.template == "imports/upload.html" and rendered["kind"] == "households" and rendered["errors"] == {}
    page = rendered.response.text
    assert 'enctype="multipart/form-data"' in page and "/imports/households/template.xlsx" in page
    assert "知情同意" in page and "下载模板" in page
    template = await client.get("/imports/households/template.xlsx")
    assert template.status_code == 200 and template.content.startswith(b"PK\x03\x04")
    assert template.headers["content-type"].startswith(XLSX)
    assert "attachment" in template.headers["content-disposition"]
    assert (await client.get("/imports/volunteers")).status_code == 200
    assert (await client.get("/imports/elephants")).status_code == 404


async def test_the_sample_with_a_bad_row_shows_the_row_and_column_in_chinese_and_imports_nothing(client, conn):
    d = await _committee(client, conn)
    uploaded = await _upload(client, "households", SAMPLE.name, SAMPLE.read_bytes())
    assert uploaded.status_code in (302, 303), uploaded.text
    location = uploaded.headers["location"]
    rendered = await page_context(client, location)
    preview = rendered["preview"]
    assert rendered.template == "imports/preview.html" and preview.error_count == 1
    assert [(i.row, i.column) for r in preview.rows for i in r.issues] == [(6, "联系电话")]
    page = rendered.response.text
    assert "第 6 行「联系电话」列" in page and "电话号码应为 7 到 15 位数字" in page
    assert "未能识别的列" in page and "楼组长" in page and "民京路918弄**号" in page and "918弄7号" not in page
    assert page.count('name="consent"') == 6 and page.count("checked") == 5
    token = await csrf_token(client, location)
    refused = await client.post(
        f"{location}/confirm", data={"_csrf_token": token, "consent": ["3", "4", "5", "6", "7", "8"]}
    )
    assert refused.status_code == 422 and "第 6 行「联系电话」列" in refused.text
    # The boxes stay as the staff ticked them (row 8 had no consent in the sheet).
    assert refused.text.count("checked") == 6
    assert await conn.fetchval("SELECT count(*) FROM households WHERE committee_id = $1", d.committee_id) == 0


async def test_a_wrong_file_comes_back_beside_the_field(client, conn):
    await _committee(client, conn)
    refused = await _upload(client, "households", "名册.csv", "姓名,地址\n王,民京路1号\n".encode())
    assert refused.status_code == 422
    assert 'id="e-file"' in refused.text and "这不是 Excel 工作簿（XLSX）文件" in refused.text
    old = await _upload(client, "households", "名册.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    assert old.status_code == 422 and "旧版 Excel 文件" in old.text


async def test_confirming_imports_every_row_once_and_a_second_post_says_it_was_done(client, conn):
    d = await _committee(client, conn)
    uploaded = await _upload(client, "households", "名册.xlsx", sheet(HOUSEHOLD_HEADERS, household_rows(3)))
    location = uploaded.headers["location"]
    confirm = {"consent": ["2", "3", "4"]}
    done = await post_form(client, f"{location}/confirm", confirm, page=location)
    assert done.status_code in (302, 303) and done.headers["location"].endswith("?done=1")
    rendered = await page_context(client, done.headers["location"])
    assert rendered["preview"].imported == 3 and rendered["done"] == "1"
    assert "已于" in rendered.response.text and "导入 3 户" in rendered.response.text
    again = await post_form(client, f"{location}/confirm", confirm, page=location)
    assert again.headers["location"].endswith("?done=again")
    shown = await client.get(again.headers["location"])
    assert "这份名册已经导入过，没有重复导入" in shown.text
    assert await conn.fetchval("SELECT count(*) FROM households WHERE committee_id = $1", d.committee_id) == 3


async def test_other_roles_and_committees_cannot_reach_an_import(client, conn):
    d = await _committee(client, conn)
    uploaded = await _upload(client, "households", "名册.xlsx", sheet(HOUSEHOLD_HEADERS, household_rows(1)))
    location = uploaded.headers["location"]
    await client.post("/logout", data={"_csrf_token": await csrf_token(client, "/households")})
    await login(client, await username_of(conn, d.other_committee_account))
    assert (await client.get(location)).status_code == 404
    assert (await client.get(location.replace("/households/", "/volunteers/"))).status_code == 404
    volunteer = await create_account(conn, "volunteer")
    await client.post("/logout", data={"_csrf_token": await csrf_token(client, "/home")})
    await login(client, await username_of(conn, volunteer))
    assert (await client.get("/imports/households")).status_code == 403
