"""Languages: the request's locale, gettext catalogues from web/locale, and locale-aware formatting."""

from __future__ import annotations

import datetime as dt
import functools
import gettext as gettext_module
import io
from collections.abc import Iterable
from contextvars import ContextVar
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from babel.dates import get_datetime_format
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, get_group_symbol, get_minus_sign_symbol

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "web" / "locale"
SHANGHAI = ZoneInfo("Asia/Shanghai")

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


def catalogue_files(locale: str) -> list[Path]:
    """The .po files of a locale: messages.po plus one per area of the product (tendering.po, …)."""
    return sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po"))


def merged_catalog(locale: str) -> Catalog:
    """The locale's .po files merged into one catalogue (later files add to messages.po)."""
    catalog = Catalog(locale=locale)
    for path in catalogue_files(locale):
        with path.open("rb") as f:
            for message in read_po(f, locale=locale):
                if message.id:
                    catalog[message.id] = message
    return catalog


def _load(locale: str) -> gettext_module.NullTranslations:
    """Compile the merged catalogue in memory, so there is no build step and no stale .mo file."""
    if not catalogue_files(locale):
        return gettext_module.NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, merged_catalog(locale))
    buffer.seek(0)
    return gettext_module.GNUTranslations(buffer)


_translations: dict[str, gettext_module.NullTranslations] = {}


def translations(locale: str) -> gettext_module.NullTranslations:
    """The catalogue of a locale, loaded once."""
    if locale not in _translations:
        _translations[locale] = _load(locale)
    return _translations[locale]


def gettext(message: str) -> str:
    """Translate into the current request's language."""
    return translations(current_locale.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message with a count into the current request's language."""
    return translations(current_locale.get()).ngettext(singular, plural, n)


def negotiate(chosen: str | None, account_locale: str | None, accept_language: str | None) -> str:
    """The language to answer in: an explicit choice, then the account's, then the browser's, then Chinese."""
    for candidate in (chosen, account_locale):
        if candidate in LOCALES:
            return candidate
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LOCALE


@functools.cache
def _babel_locale(locale: str) -> Locale:
    """Babel's Locale for one of ours, parsed once: given a name, Babel parses it again on every call (a look at its
    data folder each time), which was two thirds of a dashboard's time with its hundreds of numbers."""
    return Locale.parse(locale)


def babel_locale() -> Locale:
    """The current language as Babel's Locale, for every formatting call."""
    return _babel_locale(current_locale.get())


def yuan(fen: int) -> str:
    """Money held in fen, shown in yuan in the current language."""
    return format_currency(fen / 100, "CNY", locale=babel_locale())


# Whole numbers Babel must write as Python's "{:,}" does (with the language's group and minus signs) for the fast
# path below to be taken; the small ones, because some languages leave four digits ungrouped.
_INTEGER_PROBES = (0, 7, 999, 1000, 12345, -1234567, 1234567890)


@functools.cache
def _integer_signs(locale: str) -> tuple[str, str] | None:
    """The group and minus signs when Babel writes this language's whole numbers in groups of three as "{:,}"
    does; None when it does not (then every number goes through Babel)."""
    parsed = _babel_locale(locale)
    signs = (get_group_symbol(locale=parsed), get_minus_sign_symbol(locale=parsed))
    for probe in _INTEGER_PROBES:
        if format_decimal(probe, locale=parsed) != f"{probe:,}".replace(",", signs[0]).replace("-", signs[1]):
            return None
    return signs


def number(value: float) -> str:
    """A number with the current language's grouping."""
    # A whole number (most of what the dashboards show, hundreds a page) is written directly, in a fiftieth of the
    # time Babel takes, where Babel is known to write it the same way.
    if type(value) is int and (signs := _integer_signs(current_locale.get())) is not None:
        group, minus = signs
        return f"{value:,}".replace(",", group).replace("-", minus)
    return format_decimal(value, locale=babel_locale())


def filesize(size: int) -> str:
    """A file's size as people read it: 820 KB, 2.4 MB (decimal units, as phones show them)."""
    for unit, scale in (("MB", 1_000_000), ("KB", 1_000)):
        if size >= scale:
            return f"{format_decimal(round(size / scale, 1), locale=babel_locale())} {unit}"
    return f"{size} B"


def hours(minutes: int | None) -> str:
    """Minutes of service as hours and minutes ("1 小时 58 分钟", "1 h 58 min"): never a decimal like 1.97."""
    whole, rest = divmod(abs(minutes or 0), 60)
    sign = "-" if (minutes or 0) < 0 else ""
    if not rest:
        return sign + gettext("%(hours)s h") % {"hours": number(whole)}
    if not whole:
        return sign + gettext("%(minutes)s min") % {"minutes": rest}
    return sign + gettext("%(hours)s h %(minutes)s min") % {"hours": number(whole), "minutes": rest}


def listing(items: Iterable[object]) -> str:
    """Items of a list in a sentence: 上海话、普通话 in Chinese, "Shanghainese, Mandarin" in English."""
    return list_separator().join(str(item) for item in items)


def list_separator() -> str:
    """What stands between the items of a list: the enumeration comma 、 in Chinese, a comma in English."""
    return "、" if current_locale.get() == "zh_CN" else ", "


def local_datetime(value: dt.datetime) -> str:
    """A moment shown in Asia/Shanghai time, to the minute (nobody plans a shift to the second)."""
    locale = babel_locale()
    return str(get_datetime_format("medium", locale=locale)).format(
        babel_format_time(value, "short", tzinfo=SHANGHAI, locale=locale),
        babel_format_date(value.astimezone(SHANGHAI) if value.tzinfo else value, "medium", locale=locale),
    )


def local_range(start: dt.datetime, end: dt.datetime) -> str:
    """A span of time; the date is said once when both ends fall on the same Shanghai day."""
    if start.astimezone(SHANGHAI).date() == end.astimezone(SHANGHAI).date():
        return f"{local_datetime(start)} – {local_time(end)}"
    return f"{local_datetime(start)} – {local_datetime(end)}"


def local_time(value: dt.datetime) -> str:
    """The time of day of a moment in Asia/Shanghai, to the minute (the end of a range on the same day)."""
    return babel_format_time(value, "short", tzinfo=SHANGHAI, locale=babel_locale())


def local_date(value: dt.date) -> str:
    """A date in the current language; a moment is first put on the Shanghai calendar (not its UTC day)."""
    if isinstance(value, dt.datetime):
        value = value.astimezone(SHANGHAI).date() if value.tzinfo else value.date()
    return babel_format_date(value, "medium", locale=babel_locale())
