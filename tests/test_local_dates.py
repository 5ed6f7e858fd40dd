"""Dates on pages are Shanghai calendar days, whatever the moment's stored time zone."""

from __future__ import annotations

import datetime as dt

from api import i18n


def test_a_moment_shows_its_shanghai_day_not_its_utc_day() -> None:
    token = i18n.current_locale.set("en")
    try:
        # 20:30 UTC on 30 November is already 1 December in Shanghai.
        late_evening_utc = dt.datetime(2026, 11, 30, 20, 30, tzinfo=dt.UTC)
        assert i18n.local_date(late_evening_utc) == i18n.local_date(dt.date(2026, 12, 1))
        assert i18n.local_date(dt.date(2026, 11, 30)) != i18n.local_date(dt.date(2026, 12, 1))
    finally:
        i18n.current_locale.reset(token)
