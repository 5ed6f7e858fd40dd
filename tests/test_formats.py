"""How durations and lists are written out in each language: hours and minutes (never 1.97), the list comma."""

from __future__ import annotations

import pytest
from babel.numbers import format_decimal
from litestar import Litestar

from api import i18n


@pytest.mark.parametrize(
    ("locale", "minutes", "shown"),
    [
        ("zh_CN", 118, "1 小时 58 分钟"),
        ("zh_CN", 120, "2 小时"),
        ("zh_CN", 45, "45 分钟"),
        ("zh_CN", 0, "0 小时"),
        ("zh_CN", 60 * 1234 + 30, "1,234 小时 30 分钟"),
        ("en", 118, "1 h 58 min"),
        ("en", -90, "-1 h 30 min"),
    ],
)
def test_hours_are_hours_and_minutes(locale: str, minutes: int, shown: str) -> None:
    token = i18n.current_locale.set(locale)
    try:
        assert i18n.hours(minutes) == shown
    finally:
        i18n.current_locale.reset(token)


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_whole_numbers_take_the_fast_path_and_read_as_babel_writes_them(locale: str) -> None:
    # The dashboards show hundreds of whole numbers a page; Babel took ten microseconds for each.
    assert i18n._integer_signs(locale) is not None
    token = i18n.current_locale.set(locale)
    try:
        for value in (0, 7, -7, 999, 1000, -1000, 98765, 1234567, -987654321, 10**15, 2.5, 1234.5678):
            assert i18n.number(value) == format_decimal(value, locale=i18n.babel_locale()), value
    finally:
        i18n.current_locale.reset(token)


@pytest.mark.parametrize(("locale", "shown"), [("zh_CN", "上海话、普通话"), ("en", "上海话, 普通话")])
def test_lists_join_with_the_languages_own_comma(locale: str, shown: str) -> None:
    token = i18n.current_locale.set(locale)
    try:
        assert i18n.listing(["上海话", "普通话"]) == shown
    finally:
        i18n.current_locale.reset(token)


def test_the_chinese_pages_address_the_reader_as_nin_throughout() -> None:
    # docs/glossary.md: 您 everywhere (staff, organisations and volunteers alike), never 你.
    catalog = i18n.merged_catalog("zh_CN")
    informal = [str(m.id) for m in catalog if m.id and "你" in str(m.string)]
    assert informal == []
    assert any("您" in str(m.string) for m in catalog if m.id)


@pytest.mark.parametrize(
    ("locale", "shown"),
    [("en", "Saturday morning (9:00), Tuesday afternoon (14:00)"), ("zh_CN", "周六上午（9:00）、周二下午（14:00）")],
)
def test_a_311_visit_slot_reads_as_words_with_their_spaces(shared_app: Litestar, locale: str, shown: str) -> None:
    engine = shared_app.template_engine
    assert engine is not None
    template = engine.engine.from_string(
        '{% import "teams/_labels.html" as tl %}{% for s in ["sat-am", "tue-pm"] %}'
        "{{ tl.slot(s) }}{% if not loop.last %}{{ list_sep() }}{% endif %}{% endfor %}"
    )
    token = i18n.current_locale.set(locale)
    try:
        assert template.render() == shown
    finally:
        i18n.current_locale.reset(token)
