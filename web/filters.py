"""Jinja filters for people's formats: yuan, Shanghai time, grouped numbers, masked text, erased people's names."""

from __future__ import annotations

import jinja2

from api import i18n
from api.services import data_rights
from web import assets, charts


def person(name: str) -> str:
    """A person's (or a group's) name as it was typed, or an erased account's tombstone in the reader's language."""
    if name == data_rights.ERASED_VOLUNTEER:
        return i18n.gettext("Erased volunteer")
    if name == data_rights.ERASED_GROUP:
        return i18n.gettext("An erased volunteer's group")
    if name == data_rights.ERASED_MEMBER:
        return i18n.gettext("A person recorded by an erased volunteer")
    return name


def install(env: jinja2.Environment) -> None:
    """Register the filters on the page environment."""
    env.filters["yuan"] = i18n.yuan
    env.filters["number"] = i18n.number
    env.filters["filesize"] = i18n.filesize
    env.filters["local_datetime"] = i18n.local_datetime
    env.filters["local_date"] = i18n.local_date
    env.filters["local_time"] = i18n.local_time
    env.filters["local_range"] = i18n.local_range
    env.filters["hours"] = i18n.hours
    env.filters["listing"] = i18n.listing
    env.filters["person"] = person
    env.globals["list_sep"] = i18n.list_separator
    env.globals["static_url"] = assets.static_url
    env.globals["draw_bar_chart"] = charts.svg
    env.filters["rating"] = lambda r: f"{r}A" if r else i18n.gettext("unrated")
