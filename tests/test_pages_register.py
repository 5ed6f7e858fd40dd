"""Registration pages: the chooser, volunteers and social organisations, with errors beside the fields."""

from __future__ import annotations

from tests import factories
from tests.helpers import elements, links, parse_page, post_form
from tests.pages_kit import page_context

VOLUNTEER_FORM = "/register/volunteer"
ORG_FORM = "/register/organisation"


async def committee_area(conn, subdistrict_id: int | None = None) -> int:
    """A committee-level area with its residents' committee, under a sub-district."""
    subdistrict_id = subdistrict_id or await factories.create_area(conn, "subdistrict")
    area_id = await factories.create_area(conn, "committee", parent_id=subdistrict_id)
    await factories.create_committee(conn, area_id)
    return area_id


def volunteer_form(home_area_id: int, **overrides: object) -> dict[str, object]:
    form: dict[str, object] = {
        "username": f"xiaoli{factories.next_n()}",
        "password": "a-long-password-1",
        "display_name": "李晓",
        "birth_year": "1990",
        "phone": "13800000000",
        "home_area_id": str(home_area_id),
        "travel_km": "3",
        "weekly_hour_cap": "6",
        "skills": ["first_aid", "cooking"],
        "languages": "普通话、上海话",
        "sensitive_data_consent": "on",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


async def test_chooser_offers_both_kinds_in_chinese(client):
    response = await client.get("/register")
    assert response.status_code == 200
    links = {attrs["href"]: text for attrs, text in elements(response.text, "a")}
    assert links["/register/volunteer"] == "注册成为志愿者"
    assert links["/register/organisation"] == "注册社会组织"
    assert "注册" in parse_page(response.text).texts


async def test_login_page_links_to_the_chooser(client):
    links = {attrs["href"] for attrs, _ in elements((await client.get("/login")).text, "a")}
    assert "/register" in links


async def test_volunteer_form_groups_committees_by_subdistrict_and_labels_skills_in_chinese(client, conn):
    subdistrict = await factories.create_area(conn, "subdistrict", name="控江路街道")
    home = await committee_area(conn, subdistrict)
    committee_name = await conn.fetchval("SELECT name FROM committees WHERE area_id = $1", home)
    response = await client.get(VOLUNTEER_FORM)
    assert response.status_code == 200
    groups = [attrs["label"] for attrs, _ in elements(response.text, "optgroup")]
    assert "控江路街道" in groups
    options = {attrs.get("value"): text for attrs, text in elements(response.text, "option")}
    assert options[str(home)] == committee_name
    page = parse_page(response.text)
    for label in ("急救", "养老护理员证书", "手语", "心理疏导"):
        assert label in page.texts
    # Every input and select has a label tied to it.
    labelled = {attrs["for"] for attrs, _ in elements(response.text, "label") if attrs.get("for")}
    for tag in ("input", "select"):
        for attrs, _ in elements(response.text, tag):
            if attrs.get("type") != "hidden":
                assert attrs["id"] in labelled, attrs


async def test_volunteer_registers_and_is_logged_in_with_a_new_session(client, conn):
    home = await committee_area(conn)
    form = volunteer_form(home)
    client.cookies.set("linli_session", "a-session-id-from-before-registering")
    response = await post_form(client, VOLUNTEER_FORM, form)
    assert response.status_code in (302, 303), response.text
    assert response.headers["location"] == "/home"
    session_id = response.cookies["linli_session"]
    assert session_id != "a-session-id-from-before-registering"
    row = await conn.fetchrow(
        "SELECT a.role, v.home_area_id, v.skills, v.languages, v.travel_km::float8 AS km, v.weekly_hour_cap,"
        " v.sensitive_data_consent_at IS NOT NULL AS consent"
        " FROM accounts a JOIN volunteers v ON v.account_id = a.id WHERE a.username = $1",
        form["username"],
    )
    assert row["role"] == "volunteer"
    assert row["home_area_id"] == home
    assert row["skills"] == ["cooking", "first_aid"]
    assert row["languages"] == ["上海话", "普通话"]
    assert (row["km"], row["weekly_hour_cap"], row["consent"]) == (3.0, 6, True)
    sessions = await conn.fetchval(
        "SELECT count(*) FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE a.username = $1",
        form["username"],
    )
    assert sessions == 1
    # The phone number given is where text reminders go, shown (and changeable) on the inbox's contact form.
    inbox = await page_context(client, "/inbox")
    assert inbox["values"]["phone"] == "13800000000"
    home_page = parse_page((await client.get("/home")).text)
    assert "急救、烹饪" in home_page.texts or "烹饪、急救" in home_page.texts


async def test_taken_username_is_shown_beside_the_username(client, conn):
    home = await committee_area(conn)
    taken = await factories.username_of(conn, await factories.create_account(conn, "volunteer"))
    response = await post_form(client, VOLUNTEER_FORM, volunteer_form(home, username=taken))
    assert response.status_code == 409
    page = parse_page(response.text)
    assert page.errors == {"username": "该用户名已被占用"}
    # What was typed comes back, except the password.
    assert page.inputs["display_name"] == "李晓"
    assert page.inputs["password"] == ""


async def test_missing_fields_are_each_shown_beside_their_field(client, conn):
    home = await committee_area(conn)
    response = await post_form(client, VOLUNTEER_FORM, volunteer_form(home, display_name=None, birth_year=None))
    assert response.status_code == 422
    page = parse_page(response.text)
    assert page.errors["display_name"] == "此项为必填项"
    assert page.errors["birth_year"] == "此项为必填项"
    assert "请修改下面标出的内容。" in page.texts
    assert await conn.fetchval("SELECT count(*) FROM volunteers WHERE display_name = '李晓'") == 0


async def test_child_under_14_needs_a_guardians_consent(client, conn):
    home = await committee_area(conn)
    young = str(factories_today_year() - 12)
    refused = await post_form(client, VOLUNTEER_FORM, volunteer_form(home, birth_year=young))
    assert refused.status_code == 422
    assert parse_page(refused.text).errors == {"guardian_consent": "未满 14 周岁须经监护人同意"}
    unnamed = await post_form(client, VOLUNTEER_FORM, volunteer_form(home, birth_year=young, guardian_consent="on"))
    assert unnamed.status_code == 422
    assert parse_page(unnamed.text).errors == {"guardian_name": "请填写表示同意的监护人姓名"}
    form = volunteer_form(home, birth_year=young, guardian_consent="on", guardian_name="王建国")
    allowed = await post_form(client, VOLUNTEER_FORM, form)
    assert allowed.status_code in (302, 303)
    assert (
        await conn.fetchval(
            "SELECT guardian_name FROM volunteers v JOIN accounts a ON a.id = v.account_id WHERE a.username = $1",
            form["username"],
        )
        == "王建国"
    )


async def test_home_must_be_a_committee_area(client, conn):
    subdistrict = await factories.create_area(conn, "subdistrict")
    response = await post_form(client, VOLUNTEER_FORM, volunteer_form(subdistrict))
    assert response.status_code == 422
    assert parse_page(response.text).errors == {"home_area_id": "请选择您居住地所属的居委会"}


def factories_today_year() -> int:
    import datetime as dt
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).year


def organisation_form(**overrides: object) -> dict[str, object]:
    form: dict[str, object] = {
        "username": f"yixin{factories.next_n()}",
        "password": "a-long-password-1",
        "display_name": "王主任",
        "name": "益心社工服务中心",
        "credit_code": factories.credit_code(),
        "registered_on": "2016-04-12",
        "rating": "4",
        "rating_expires_on": "2028-06-30",
        "staff_hours_capacity": "3200",
        "contact_phone": "021-65000000",
        "address": "杨浦区控江路 1000 号",
        "description": "为老服务与喘息服务。",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


async def test_organisation_form_offers_categories_and_subdistricts(client, conn):
    await factories.create_catalogue_item(conn, code="respite_care_test", personal=True)
    subdistrict = await factories.create_area(conn, "subdistrict", name="五角场街道")
    response = await client.get(ORG_FORM)
    assert response.status_code == 200
    boxes = {
        (a["name"], a["value"])
        for a, _ in elements(response.text, "input")
        if a.get("type") == "checkbox" and "name" in a
    }
    assert ("category_codes", "respite_care_test") in boxes
    assert ("area_ids", str(subdistrict)) in boxes
    ratings = [text for _, text in elements(response.text, "option")]
    assert ratings[:6] == ["未评级", "5A", "4A", "3A", "2A", "1A"]
    page = parse_page(response.text)
    assert "统一社会信用代码" in page.texts
    assert any("18 位代码" in text and "校验码" in text for text in page.texts)


async def test_invalid_credit_code_is_shown_beside_it_and_nothing_is_created(client, conn):
    good = factories.credit_code()
    # Change the check character: 18 characters of the right alphabet, but the code does not check out.
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    form = organisation_form(credit_code=bad)
    before = await conn.fetchval("SELECT count(*) FROM organisations")
    response = await post_form(client, ORG_FORM, form)
    assert response.status_code == 422
    page = parse_page(response.text)
    assert page.errors == {"credit_code": "统一社会信用代码的校验码不正确"}
    assert page.inputs["credit_code"] == bad
    assert await conn.fetchval("SELECT count(*) FROM organisations") == before
    assert await conn.fetchval("SELECT count(*) FROM accounts WHERE username = $1", form["username"]) == 0


async def test_short_credit_code_is_explained(client):
    response = await post_form(client, ORG_FORM, organisation_form(credit_code="52310110MJ"))
    assert response.status_code == 422
    assert parse_page(response.text).errors["credit_code"] == "统一社会信用代码应为 18 位"


async def test_rating_without_expiry_is_refused_beside_the_expiry(client):
    response = await post_form(client, ORG_FORM, organisation_form(rating_expires_on=None))
    assert response.status_code == 422
    assert parse_page(response.text).errors == {
        "rating_expires_on": "填写评估等级时须填写有效期，填写有效期时须选择评估等级"
    }


async def test_organisation_registers_pending_with_its_categories_and_areas(client, conn):
    await factories.create_catalogue_item(conn, code="elderly_care_test")
    subdistrict = await factories.create_area(conn, "subdistrict")
    code = factories.credit_code()
    # People copy the code with spaces and in lower case; it is stored bare and in capitals.
    typed = f"{code[:6]} {code[6:12]} {code[12:]}".lower()
    form = organisation_form(credit_code=typed, category_codes=["elderly_care_test"], area_ids=[str(subdistrict)])
    response = await post_form(client, ORG_FORM, form)
    assert response.status_code in (302, 303), response.text
    assert response.headers["location"] == "/register/organisation/pending"
    org = await conn.fetchrow(
        "SELECT o.id, o.status, o.rating, o.staff_hours_capacity FROM organisations o WHERE credit_code = $1", code
    )
    assert (org["status"], org["rating"], org["staff_hours_capacity"]) == ("pending", 4, 3200)
    assert await conn.fetchval(
        "SELECT array_agg(c.code) FROM organisation_categories oc JOIN catalogue_items c ON c.id = oc.catalogue_item_id"
        " WHERE oc.organisation_id = $1",
        org["id"],
    ) == ["elderly_care_test"]
    assert await conn.fetchval(
        "SELECT array_agg(area_id) FROM organisation_areas WHERE organisation_id = $1", org["id"]
    ) == [subdistrict]
    pending = await client.get("/register/organisation/pending")
    assert "您的社会组织正在等待审核。" in parse_page(pending.text).texts
    # Registration logged the manager in: the page leads on to the profile rather than to the login form.
    assert pending.status_code == 200
    assert links(pending.text)["完善本组织的资料"] == f"/organisations/{org['id']}/edit"


async def test_registration_pages_switch_to_english(client):
    await post_form(client, "/lang", {"locale": "en", "next": VOLUNTEER_FORM}, page=VOLUNTEER_FORM)
    page = parse_page((await client.get(VOLUNTEER_FORM)).text)
    assert "Register as a volunteer" in page.texts
    assert "First aid" in page.texts
    response = await post_form(client, VOLUNTEER_FORM, {"username": "ab"})
    errors = parse_page(response.text).errors
    assert errors["display_name"] == "This field is required"
