"""Counts in English agree with their number ("1 person", "2 people"); Chinese has one form ("1 人", "2 人")."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

from api import i18n
from api.app import _jinja_environment
from tests.factories import username_of
from tests.factories_tendering import create_district, create_household
from tests.helpers import login
from tests.pages_kit import page_context


@contextmanager
def speaking(locale: str) -> Iterator[None]:
    token = i18n.current_locale.set(locale)
    try:
        yield
    finally:
        i18n.current_locale.reset(token)


def _macro(template: str, name: str, *args: object) -> str:
    return str(getattr(_jinja_environment().get_template(template).module, name)(*args))


def test_english_labels_say_one_thing_and_two_things():
    visits = SimpleNamespace(kind="visits", period="week", amount=1, basis="fixed")
    with speaking("en"):
        assert _macro("rosters/_labels.html", "entitlement", visits) == "1 visit a week"
        assert _macro("rosters/_labels.html", "entitlement", SimpleNamespace(**{**vars(visits), "amount": 2})) == (
            "2 visits a week"
        )
        assert _macro("shifts/_labels.html", "places", SimpleNamespace(headcount=1, taken=0)) == "1 of 1 place left"
        assert _macro("shifts/_labels.html", "places", SimpleNamespace(headcount=2, taken=1)) == "1 of 2 places left"
    with speaking("zh_CN"):
        assert _macro("rosters/_labels.html", "entitlement", visits) == "每周上门 1 次"
        assert _macro("shifts/_labels.html", "places", SimpleNamespace(headcount=2, taken=1)) == "剩余名额 1 / 2"


def test_python_messages_count_in_english_and_chinese():
    with speaking("en"):
        one = i18n.ngettext("%(hours)s in %(num)s service", "%(hours)s in %(num)s services", 1)
        two = i18n.ngettext("%(hours)s in %(num)s service", "%(hours)s in %(num)s services", 2)
        assert (one % {"hours": "1 h", "num": 1}, two % {"hours": "2 h", "num": 2}) == (
            "1 h in 1 service",
            "2 h in 2 services",
        )
    with speaking("zh_CN"):
        assert i18n.ngettext("%(num)s person", "%(num)s people", 1) % {"num": 1} == "1 人"
        assert i18n.ngettext("%(num)s person", "%(num)s people", 2) % {"num": 2} == "2 人"


async def test_the_households_page_counts_people_and_households_in_both_languages(client, conn):
    d = await create_district(conn)
    await create_household(conn, d.committee_id)  # one member, the schema's default
    await login(client, await username_of(conn, d.committee_account))
    client.cookies.set("linli_locale", "en")
    one = await page_context(client, "/households")
    assert one.template == "households/list.html" and one["page"].total == 1
    assert "1 person" in one.response.text and "1 household found" in one.response.text
    assert "1 people" not in one.response.text and "1 households" not in one.response.text

    second = await create_household(conn, d.committee_id)
    await conn.execute("UPDATE households SET members = 2 WHERE id = $1", second)
    two = await page_context(client, "/households")
    assert two["page"].total == 2
    assert "2 people" in two.response.text and "2 households found" in two.response.text

    client.cookies.set("linli_locale", "zh_CN")
    chinese = (await page_context(client, "/households")).response.text
    assert "找到2户家庭" in chinese and "2 人" in chinese and "1 人" in chinese
