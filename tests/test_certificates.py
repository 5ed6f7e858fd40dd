"""The service record certificate (志愿服务记录证明): its fields and date order, the A4 PDF read back as text, and the
public page where anyone verifies it by number and check code — seeing only a masked name, the totals, the issuer,
the date and whether it is valid."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader

from api.services import service_records
from api.services.errors import Forbidden, NotFound
from api.services.service_records import check_code_shown, mask_name
from tests.factories_attendance import add_attendance
from tests.factories_shifts import add_signup, create_shift, publisher_identity, volunteer_identity
from tests.helpers import bearer, login, post_form
from tests.pages_kit import page_context
from web import certificate_pdf
from web.certificate_pdf import runs

ISSUER = "邻里社区服务平台"
# The star levels of LINLI_STAR_LEVEL_HOURS by default.
STAR_HOURS = (100, 300, 600, 1000, 1500)


async def _serve(conn, volunteer, publisher, *, days_ago: int, title: str, minutes: int = 120, place: str = "睦邻点"):
    """One confirmed record of a shift served `days_ago` days ago (confirmed now: later calls confirm later)."""
    starts_at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=days_ago)
    shift_id = await create_shift(
        conn,
        organisation_id=publisher.organisation_id,
        committee_id=publisher.committee_id,
        starts_at=starts_at,
        title=title,
        place_name=place,
    )
    signup_id = await add_signup(conn, shift_id, volunteer.volunteer_id)
    await add_attendance(
        conn, shift_id, signup_id, volunteer.volunteer_id, minutes=minutes, confirmed_by=publisher.account_id
    )


async def _scene(conn, name: str = "张晓明"):
    """A volunteer with three records confirmed out of date order, at two organising bodies."""
    volunteer = await volunteer_identity(conn)
    await conn.execute("UPDATE volunteers SET display_name = $2 WHERE id = $1", volunteer.volunteer_id, name)
    org = await publisher_identity(conn, "organisation")
    committee = await publisher_identity(conn, "committee")
    await _serve(conn, volunteer, org, days_ago=3, title="敬老院陪伴", minutes=90)
    await _serve(conn, volunteer, committee, days_ago=10, title="社区助餐送餐", minutes=120)
    await _serve(conn, volunteer, org, days_ago=6, title="垃圾分类宣传", minutes=45)
    return volunteer, org, committee


async def _names(conn, *publishers) -> list[str]:
    names = []
    for p in publishers:
        if p.organisation_id is not None:
            names.append(await conn.fetchval("SELECT name FROM organisations WHERE id = $1", p.organisation_id))
        else:
            names.append(await conn.fetchval("SELECT name FROM committees WHERE id = $1", p.committee_id))
    return names


async def test_the_certificate_holds_the_fields_of_the_rules_in_date_order(conn):
    volunteer, org, committee = await _scene(conn)
    issued = await service_records.certificate(conn, volunteer, STAR_HOURS)
    c = issued.certificate
    assert [i.title for i in issued.items] == ["社区助餐送餐", "垃圾分类宣传", "敬老院陪伴"]
    assert (c.records, c.minutes) == (3, 255)
    assert c.volunteer_name == "张晓明"
    assert re.fullmatch(r"V[0-9]{9}", c.volunteer_number)
    assert re.fullmatch(r"[0-9A-F]{12}", c.check_code)
    committee_name, org_name = await _names(conn, committee, org)
    assert issued.organisers == [committee_name, org_name]
    assert issued.period == (issued.items[0].starts_at, issued.items[-1].ends_at)
    # Another volunteer's number differs: the number is the volunteer's, one each.
    other = await volunteer_identity(conn)
    assert await conn.fetchval("SELECT number FROM volunteers WHERE id = $1", other.volunteer_id) != c.volunteer_number


def test_names_are_masked_as_a_stranger_may_see_them():
    assert [mask_name(n) for n in ("张晓明", "李四", "欧阳娜娜", "王", "Jane Doe", " ")] == [
        "张*明",
        "李*",
        "欧**娜",
        "王*",
        "J***",
        "*",
    ]
    assert check_code_shown("3F9A2B7C1D0E") == "3F9A-2B7C-1D0E"


async def test_the_pdf_reads_back_with_every_field_and_the_records_in_date_order(client, conn):
    volunteer, org, committee = await _scene(conn)
    # Enough records for a second page: page numbers and the certificate's number on each.
    for n in range(45):
        await _serve(conn, volunteer, org, days_ago=20 + n, title=f"楼道清洁{n:02d}", minutes=60)
    await login(client, volunteer.username)
    response = await post_form(client, "/records/certificate", {}, page="/records")
    number = response.headers["location"].rsplit("/", 1)[1]
    pdf = await client.get(f"/records/certificates/{number}/certificate.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == f'attachment; filename="{number}.pdf"'
    reader = PdfReader(io.BytesIO(pdf.content))
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    pages = [page.extract_text() for page in reader.pages]
    assert len(pages) >= 2
    for n, text in enumerate(pages, start=1):
        assert f"证明编号：{number}" in text
        assert f"第 {n} 页，共 {len(pages)} 页" in text
    text = "\n".join(pages)
    c = (await service_records.my_certificate(conn, volunteer, number)).certificate
    committee_name, org_name = await _names(conn, committee, org)
    for field in ("志愿服务记录证明", "张晓明", c.volunteer_number, "组织单位", committee_name, org_name, "出具单位",
                  ISSUER, "出具日期", f"核验码：{check_code_shown(c.check_code)}", "服务总时长", "48 次"):  # fmt: skip
        assert field in text, field
    titles = re.findall(r"楼道清洁\d\d|社区助餐送餐|垃圾分类宣传|敬老院陪伴", text)
    assert titles == [f"楼道清洁{n:02d}" for n in range(44, -1, -1)] + ["社区助餐送餐", "垃圾分类宣传", "敬老院陪伴"]
    assert f"/verify/{number}/{c.check_code}" in text.replace("\n", "")
    # The hanzi's font travels inside the file (a reader without a Chinese font still shows them).
    fonts = [font.get_object() for font in reader.pages[0]["/Resources"]["/Font"].values()]
    embedded = [
        f["/BaseFont"]
        for f in fonts
        if ("/DescendantFonts" not in f and "/FontFile2" in f.get("/FontDescriptor", {}))
        or any("/FontFile2" in d.get_object()["/FontDescriptor"] for d in f.get("/DescendantFonts", []))
    ]
    assert any("DroidSansFallback" in str(name) for name in embedded), fonts


def test_each_run_of_text_is_set_in_a_font_that_has_it():
    assert runs("王海燕 LL-1：喆–") == [
        (certificate_pdf.FONT, "王海燕"),
        (certificate_pdf.LATIN, " LL-1"),
        (certificate_pdf.FONT, "："),
        (certificate_pdf.FALLBACK, "喆"),  # outside GB 2312: the reader's own Song face
        (certificate_pdf.LATIN, "–"),
    ]


async def test_a_volunteer_gets_only_their_own_certificate(client, conn):
    volunteer, _org, _committee = await _scene(conn)
    issued = await service_records.certificate(conn, volunteer, STAR_HOURS)
    number = issued.certificate.number
    other, _o, _c = await _scene(conn, "李四")
    with pytest.raises(NotFound):
        await service_records.my_certificate(conn, other, number)
    await login(client, other.username)
    assert (await client.get(f"/records/certificates/{number}/certificate.pdf")).status_code == 404
    assert (await client.get(f"/records/certificates/{number}")).status_code == 404
    publisher = await publisher_identity(conn, "organisation")
    with pytest.raises(Forbidden):
        await service_records.my_certificate(conn, publisher, number)
    client.cookies.clear()
    response = await client.get(f"/records/certificates/{number}/certificate.pdf", follow_redirects=False)
    assert response.status_code in (302, 303, 401)


async def test_the_certificate_page_links_the_pdf_and_shows_the_qr_code_of_its_verification(client, conn):
    volunteer, _org, _committee = await _scene(conn)
    await login(client, volunteer.username)
    response = await post_form(client, "/records/certificate", {}, page="/records")
    rendered = await page_context(client, response.headers["location"])
    assert rendered.template == "timebank/certificate.html"
    c = rendered["issued"].certificate
    assert rendered["verify_url"].endswith(f"/verify/{c.number}/{c.check_code}")
    assert rendered["check_code"] == check_code_shown(c.check_code)
    assert rendered["issuer"] == ISSUER
    assert rendered["qr"].startswith("<svg")
    html = rendered.response.text
    assert f'href="/records/certificates/{c.number}/certificate.pdf"' in html and "下载 PDF" in html
    assert c.volunteer_number in html and "组织单位" in html and "扫码核验" in html


async def test_anyone_verifies_a_certificate_and_sees_nothing_personal_beyond_the_masked_name(client, conn):
    volunteer, _org, _committee = await _scene(conn)
    c = (await service_records.certificate(conn, volunteer, STAR_HOURS)).certificate
    rendered = await page_context(client, f"/verify/{c.number}/{c.check_code}")
    assert rendered.response.status_code == 200
    checked = rendered["checked"]
    assert (checked.number, checked.masked_name, checked.records, checked.minutes, checked.valid) == (
        c.number,
        "张*明",
        3,
        255,
        True,
    )
    assert rendered["issuer"] == ISSUER
    html = rendered.response.text
    assert "此证明真实有效" in html and "张*明" in html and "4 小时 15 分钟" in html and ISSUER in html
    for personal in ("张晓明", c.volunteer_number, "敬老院陪伴", "睦邻点", volunteer.username):
        assert personal not in html, personal
    # Typed into the form: lower case and in groups of four, as printed.
    typed = await page_context(client, f"/verify?number={c.number}&code={check_code_shown(c.check_code).lower()}")
    assert typed.response.status_code == 200 and typed["checked"].number == c.number
    # The blank form for someone without a camera.
    blank = await page_context(client, "/verify")
    assert blank.response.status_code == 200 and blank["checked"] is None and 'name="code"' in blank.response.text


async def test_an_unknown_number_or_a_wrong_code_is_a_clear_404_page(client, conn):
    volunteer, _org, _committee = await _scene(conn)
    c = (await service_records.certificate(conn, volunteer, STAR_HOURS)).certificate
    wrong = "000000000000" if c.check_code != "000000000000" else "111111111111"
    for path in (
        f"/verify/{c.number}/{wrong}",
        f"/verify/LL-20000101-999999/{c.check_code}",
        "/verify/not-a-number/xyz",
        f"/verify?number={c.number}&code=",
    ):
        rendered = await page_context(client, path, status=404)
        assert rendered.response.status_code == 404, path
        assert rendered.template == "timebank/verify.html" and rendered["checked"] is None
        assert "没有与此编号和核验码相符的证明" in rendered.response.text
        assert "张" not in rendered.response.text.split("<main", 1)[-1]


async def test_a_certificate_whose_records_changed_is_shown_as_no_longer_valid(client, conn):
    volunteer, _org, _committee = await _scene(conn)
    c = (await service_records.certificate(conn, volunteer, STAR_HOURS)).certificate
    await conn.execute(
        "UPDATE attendance SET minutes = minutes + 30, checked_in_at = checked_in_at - interval '30 minutes'"
        " WHERE volunteer_id = $1 AND id = (SELECT min(id) FROM attendance WHERE volunteer_id = $1)",
        volunteer.volunteer_id,
    )
    rendered = await page_context(client, f"/verify/{c.number}/{c.check_code}")
    assert rendered.response.status_code == 200 and rendered["checked"].valid is False
    assert "已失效" in rendered.response.text


async def test_the_api_verifies_a_certificate_for_anyone_and_gives_its_owner_the_check_code(client, conn):
    volunteer, _org, _committee = await _scene(conn)
    mine = (await client.post("/api/records/mine/certificate", headers=await bearer(client, volunteer.username))).json()
    assert re.fullmatch(r"V[0-9]{9}", mine["volunteer_number"]) and re.fullmatch(r"[0-9A-F]{12}", mine["check_code"])
    client.cookies.clear()
    checked = await client.get(f"/api/records/certificates/{mine['number']}/{mine['check_code']}")
    assert checked.status_code == 200
    assert checked.json() == {
        "number": mine["number"],
        "masked_name": "张*明",
        "records": 3,
        "minutes": 255,
        "issued_at": mine["issued_at"],
        "stars": 0,
        "valid": True,
        "withdrawn": False,
        "issuer": ISSUER,
    }
    unknown = await client.get(f"/api/records/certificates/{mine['number']}/ABCDEF012345")
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("application/problem+json")


async def test_the_pdf_speaks_the_readers_language(client, conn):
    volunteer, _org, _committee = await _scene(conn)
    number = (await service_records.certificate(conn, volunteer, STAR_HOURS)).certificate.number
    await conn.execute("UPDATE accounts SET locale = 'en' WHERE id = $1", volunteer.account_id)
    await login(client, volunteer.username)
    pdf = await client.get(f"/records/certificates/{number}/certificate.pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Certificate of volunteer service" in text and f"Certificate no. {number}" in text and "Page 1 of 1" in text
    assert "证明编号" not in text
