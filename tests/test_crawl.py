"""Every page a demo login (and the public) reaches by following links answers, in Chinese and in English, without
a server error, a raw code, a time with seconds or text of the other language (issue #12)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser

from api.demo import DEMO_LOGINS
from api.services import shifts
from tests import factories
from tests.axe_check import Check, axe_browser, axe_checker
from tests.browser_helpers import WIDTHS
from tests.helpers import elements, login, post_form

__all__ = ["axe_browser"]  # a fixture, used by name
PASSWORDS = {username: password for _, username, password in DEMO_LOGINS}
# Links that end the session or are files rather than pages.
SKIP_PREFIXES = ("/logout", "/static/", "/schema", "/ical/")
SKIP_SUFFIXES = (".csv", ".xlsx", ".ics", ".svg", ".pdf", ".png", ".zip")
MAX_PAGES = 150
# Clicks from the front page and home; deeper pages (an award run from a review sheet) are five or six away.
DEPTH = 6
# Pages of one shape (/shifts/12, /shifts/13) are one template with other data: two of each are enough.
PER_SHAPE = 2

# An address written out (a check-in link to copy) is not words of either language.
URL = re.compile(r"https?://\S+|\b[0-9a-f]{12,}…?")
SECONDS = re.compile(r"\b\d{1,2}:\d\d:\d\d\b")
RAW_CODE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
# Single letters stand for themselves (5A, the letters a credit code leaves out), so a word is two or more.
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z.]*[A-Za-z]")
# Han characters and the full-width punctuation that belongs to Chinese text (、，：。（）).
HAN_RUN = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff01-\uff1f]+")
PUNCTUATION_ONLY = re.compile(r"[\u3000-\u303f\uff01-\uff1f]+")
# Latin words a Chinese page may show: names of formats and standards, units, the product's codes for ratings.
LATIN_ALLOWED = frozenset(
    {
        "API",
        "QR",
        "CSV",
        "XLSX",
        "Excel",
        "PDF",
        "JPEG",
        "PNG",
        "MB",
        "iCal",
        "ICS",
        "URL",
        "HTTPS",
        "SMS",
        "SHA",
        "ZIP",
        "JSON",
    }
    | {"km", "ID"}
)
# Words of the other language a page may carry on purpose: the language switch names its language in that language.
SWITCH_WORDS = frozenset({"English", "中文"})


class _Text(HTMLParser):
    """The text a reader sees (text nodes and the labels of placeholders, titles and buttons), without scripts,
    styles, parts marked as another language (`lang="en"` on a Chinese page) or as not to be translated."""

    # <code> holds machine names on purpose (an audit action, a receipt's hash), shown as such.
    SKIP = frozenset({"script", "style", "template", "code"})
    VOID = frozenset({"input", "img", "br", "meta", "link", "hr", "source", "col", "area", "wbr"})

    def __init__(self, page_lang: str) -> None:
        super().__init__()
        self.page_lang = page_lang
        self.texts: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, hidden from the check)

    def _hidden(self) -> bool:
        return any(hidden for _, hidden in self._stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        lang = a.get("lang")
        hidden = (
            tag in self.SKIP
            or (lang is not None and not lang.lower().startswith(self.page_lang))
            or a.get("translate") == "no"  # machine text on purpose (a pattern to type, a code)
        )
        if not hidden and not self._hidden():
            for name in ("placeholder", "title", "aria-label", "alt"):
                if a.get(name):
                    self.texts.append(a[name])
        if tag not in self.VOID:
            self._stack.append((tag, hidden))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._stack) - 1, -1, -1):
            if self._stack[index][0] == tag:
                del self._stack[index:]
                return

    def handle_data(self, data: str) -> None:
        if data.strip() and not self._hidden():
            self.texts.append(data.strip())


def visible_texts(html: str, locale: str) -> list[str]:
    """The texts of a page a reader of `locale` sees."""
    parser = _Text("zh" if locale == "zh_CN" else "en")
    parser.feed(html)
    return parser.texts


@dataclass
class DataWords:
    """Words that come from the data (names, addresses, titles people typed), allowed in either language."""

    han: str = ""
    latin: set[str] = field(default_factory=set)


async def data_words(conn: asyncpg.Connection) -> DataWords:
    """Every text value of the demo's tables that people typed (not codes: a value that is one identifier like
    `open` or `elderly_care` is a code and stays a fault on a page)."""
    columns = await conn.fetch(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c"
        " JOIN information_schema.tables t USING (table_schema, table_name)"
        " WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'"
        " AND (c.data_type IN ('text', 'character varying', 'jsonb') OR c.udt_name = '_text')"
        " AND c.table_name NOT IN ('audit_log', 'schema_migrations')"
    )
    words = DataWords()
    han: list[str] = []
    for row in columns:
        column, table = row["column_name"], row["table_name"]
        value_of = f'unnest("{column}")' if row["data_type"] == "ARRAY" else f'"{column}"::text'
        values = await conn.fetch(f'SELECT DISTINCT {value_of} AS v FROM "{table}" WHERE "{column}" IS NOT NULL')
        for value in (r["v"] for r in values if r["v"]):
            if HAN_RUN.search(value):
                han.append(value)
            # JSON documents name their keys in code; only what people typed counts as Latin data.
            if row["data_type"] != "jsonb" and not re.fullmatch(r"[a-z0-9_]+", value):
                words.latin.update(LATIN_WORD.findall(value))
    words.latin.update(await conn.fetchval("SELECT array_agg(username) FROM accounts"))
    words.han = "\n".join(han)
    return words


def faults(texts: list[str], locale: str, data: DataWords) -> list[str]:
    """What a reader of `locale` should not see in these texts: raw codes, seconds, the other language."""
    found: list[str] = []
    for text in texts:
        text = URL.sub(" ", text)
        for code in RAW_CODE.findall(text):
            found.append(f"code {code!r} in {text[:80]!r}")
        for moment in SECONDS.findall(text):
            found.append(f"seconds {moment!r} in {text[:80]!r}")
        if locale == "zh_CN":
            if "你" in text and text not in data.han:
                found.append(f"你 (the pages say 您, docs/glossary.md) in {text[:80]!r}")
            for word in LATIN_WORD.findall(text):
                if word not in LATIN_ALLOWED and word not in SWITCH_WORDS and word not in data.latin:
                    found.append(f"English {word!r} in {text[:80]!r}")
        else:
            for run in HAN_RUN.findall(text):
                # Full-width punctuation alone (a （ or ： beside English words) is the page's, never a name's.
                from_data = run in data.han and not PUNCTUATION_ONLY.fullmatch(run)
                if run not in SWITCH_WORDS and not from_data:
                    found.append(f"Chinese {run!r} in {text[:80]!r}")
    return found


def _shape(path: str) -> str:
    """A page's shape: its path with the ids taken out (/shifts/12 and /shifts/13 are one shape)."""
    return re.sub(r"/[0-9a-f-]*\d[0-9a-f-]*(?=/|$|\?)", "/{id}", path.split("?")[0])


def _links(html: str) -> list[str]:
    """The same-site page links of a page, without query noise that would only page through lists."""
    found = []
    for attrs, _ in elements(html, "a"):
        href = attrs.get("href", "")
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            continue
        if parts.path.startswith(SKIP_PREFIXES) or parts.path.endswith(SKIP_SUFFIXES) or "format=" in parts.query:
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query and "offset=" not in parts.query else ""))
    return found


async def crawl(
    client: httpx.AsyncClient, locale: str, data: DataWords, check: Check | None = None, deep: Sequence[str] = ()
) -> tuple[set[str], list[str]]:
    """Follow links from the front page, home and the `deep` pages, DEPTH clicks deep; the pages seen and what is
    wrong on them (with `check`, also what it finds on each page: axe-core's faults)."""
    seen: set[str] = set()
    shapes: dict[str, int] = {}
    frontier = ["/", "/home", *deep]
    broken: list[str] = []
    for _depth in range(DEPTH):
        next_frontier: list[str] = []
        for path in frontier:
            shape = _shape(path)
            if path in seen or len(seen) >= MAX_PAGES or shapes.get(shape, 0) >= PER_SHAPE:
                continue
            seen.add(path)
            shapes[shape] = shapes.get(shape, 0) + 1
            page = await client.get(path)
            if page.status_code in (301, 302, 303, 307):
                next_frontier.append(page.headers["location"])
                continue
            if page.status_code >= 500 or page.status_code == 404:
                broken.append(f"{path} → {page.status_code}")
                continue
            if not page.headers.get("content-type", "").startswith("text/html"):
                continue
            # The page's own title comes first (charts add SVG titles after it); browsers show a <title>'s
            # content as plain text, so markup in it is a template block left open.
            title = re.search(r"<title>(.*?)</title>", page.text, re.S)
            if title is None or not title.group(1).strip() or "<" in title.group(1):
                broken.append(f"{path}: title {title.group(1)[:80] if title else None!r}")
            broken += [f"{path}: {fault}" for fault in faults(visible_texts(page.text, locale), locale, data)]
            # axe looks at markup and styles, which one page of a shape shares with the other.
            if check is not None and shapes[shape] == 1:
                broken += await check(path, page.text)
            next_frontier += _links(page.text)
        frontier = next_frontier
    return seen, broken


# Pages a link does not reach from home (a run's result after its start button; the pages that ask before a step):
# the crawl starts at them too, for the demo login that may see them.
_AWARD_RUN = """
SELECT r.id FROM match_runs r JOIN tenders t ON t.id = r.subject_id JOIN memberships m ON m.funder_id = t.funder_id
JOIN accounts a ON a.id = m.account_id
WHERE a.username = $1 AND r.model = 'award' AND r.status = 'succeeded' ORDER BY r.id LIMIT 1
"""
_HELD_PLACE = """
SELECT g.shift_id FROM signups g JOIN volunteers v ON v.id = g.volunteer_id JOIN accounts a ON a.id = v.account_id
JOIN shifts s ON s.id = g.shift_id
WHERE a.username = $1 AND g.status = 'active' AND s.starts_at > now() ORDER BY s.starts_at LIMIT 1
"""


async def _held_place(conn: asyncpg.Connection, username: str) -> int | None:
    """A shift to come the volunteer holds a place on; if the demo's places are past (late in the week), one taken
    now inside the test's transaction (rolled back with it)."""
    if held := await conn.fetchval(_HELD_PLACE, username):
        return int(held)
    who = await factories.identity_of(
        conn, await conn.fetchval("SELECT id FROM accounts WHERE username = $1", username)
    )
    for item in await shifts.browse(conn, who, eligible_only=True, limit=20, offset=0):
        if item.shift.taken < item.shift.headcount:
            await shifts.sign_up(conn, who, item.shift.id)
            return item.shift.id
    return None


# The committee's latest incident (the demo's open one), at a household rated too where one is: its page, its notes
# page and the incident's page.
_COMMITTEES_INCIDENT = """
SELECT i.id, i.household_id FROM visit_incidents i
JOIN memberships m ON m.committee_id = i.committee_id JOIN accounts a ON a.id = m.account_id
WHERE a.username = $1
ORDER BY EXISTS (SELECT 1 FROM visit_ratings r WHERE r.household_id = i.household_id) DESC, i.raised_at DESC, i.id
LIMIT 1
"""


async def _visit_record(conn: asyncpg.Connection, username: str) -> list[str]:
    """A household of the committee with the demo's notes, an incident and ratings: its page, its notes page and the
    incident's page."""
    incident = await conn.fetchrow(_COMMITTEES_INCIDENT, username)
    if incident is None:
        return []
    household = incident["household_id"]
    return [f"/households/{household}", f"/households/{household}/visit-notes", f"/incidents/{incident['id']}"]


# The household of the volunteer's live 311 team, whose members' notes the demo holds.
_TEAMS_NOTED_HOUSEHOLD = """
SELECT t.household_id FROM team_members tm JOIN teams t ON t.id = tm.team_id
JOIN volunteers v ON v.id = tm.volunteer_id JOIN accounts a ON a.id = v.account_id
WHERE a.username = $1 AND tm.until IS NULL AND t.status = 'live'
  AND EXISTS (SELECT 1 FROM visit_notes n WHERE n.household_id = t.household_id)
ORDER BY t.id LIMIT 1
"""


async def _carers_notes(conn: asyncpg.Connection, username: str) -> list[str]:
    """The notes page of the household the volunteer's 311 team visits (the demo's notes, read as a team member)."""
    household = await conn.fetchval(_TEAMS_NOTED_HOUSEHOLD, username)
    return [] if household is None else [f"/households/{household}/visit-notes"]


async def deep_pages(conn: asyncpg.Connection, username: str | None) -> list[str]:
    """The pages the crawl of this login starts at besides the front page and home."""
    if username == "volunteer.demo" and (shift := await _held_place(conn, username)):
        return [f"/shifts/{shift}/cancel", f"/shifts/{shift}/handover", *await _carers_notes(conn, username)]
    if username == "committee.kailu4":
        return await _visit_record(conn, username)
    if username == "funder.yinhang" and (run := await conn.fetchval(_AWARD_RUN, username)):
        return [f"/award-runs/{run}", f"/award-runs/{run}/publish"]
    return []


DEEP_LOGINS = ("volunteer.demo", "funder.yinhang", "committee.kailu4")


DATA = DataWords(han="张秀英\n开鲁新村（北块）", latin={"Linli", "volunteer.demo"})


@pytest.mark.parametrize(
    ("locale", "text", "fault"),
    [
        ("en", "You hold the certificates required: elderly_carer", "code 'elderly_carer'"),
        ("zh_CN", "状态：late_cancelled", "code 'late_cancelled'"),
        ("zh_CN", "2026年12月6日 14:00:00", "seconds '14:00:00'"),
        ("zh_CN", "运行状态：succeeded", "English 'succeeded'"),
        ("zh_CN", "你持有所需证书", "你"),
        ("en", "Attendance：Clean-up", "Chinese '："),
        ("en", "Checked in （QR code）", "Chinese '（'"),
        ("en", "Skills: 急救", "Chinese '急救'"),
        ("en", "Languages: 上海话、普通话", "Chinese '上海话、普通话'"),
    ],
)
def test_the_crawls_reader_sees_codes_seconds_and_the_other_language(locale: str, text: str, fault: str) -> None:
    assert any(found.startswith(fault) for found in faults([text], locale, DATA)), faults([text], locale, DATA)


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("zh_CN", "下载 CSV · 扫描 QR 码 · 5A · 距离 1.5 km"),
        ("zh_CN", "志愿者 volunteer.demo 于 2026年12月6日 14:00 签到"),
        ("en", "Household of 张秀英 at 开鲁新村（北块）, 14:00 – 17:00"),
        ("en", "Receipt a3f5209dcf117d238b09dc56f9d000b3 · https://linli.example/attendance/check-in/ab12"),
    ],
)
def test_the_crawls_reader_lets_names_units_and_addresses_through(locale: str, text: str) -> None:
    assert faults([text], locale, DATA) == []


def test_text_marked_as_another_language_or_machine_text_is_not_read() -> None:
    html = (
        '<p>中文</p><button lang="en">English</button><code>roster_run.start</code>'
        '<input placeholder="organisation." translate="no"><script>var a_b = "12:00:00";</script>'
    )
    assert visible_texts(html, "zh_CN") == ["中文"]


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
@pytest.mark.parametrize("username", [None, *sorted(PASSWORDS)])
@pytest.mark.slow
@pytest.mark.browser
async def test_every_linked_page_reads_in_one_language_without_codes_or_seconds(
    axe_browser: Browser,
    demo_client: httpx.AsyncClient,
    demo_conn: asyncpg.Connection,
    username: str | None,
    locale: str,
) -> None:
    """…and passes axe-core: no serious or critical violation at a phone's width, nor at a desktop's in Chinese."""
    client = demo_client
    if username is not None:
        response = await login(client, username, PASSWORDS[username])
        assert response.status_code in (302, 303), response.text
    # The language is switched the way a reader switches it: the button in the header.
    switched = await post_form(client, "/lang", {"locale": locale, "next": "/"}, page="/")
    assert switched.status_code in (302, 303), switched.text
    # English words are longer (a table that fits in Chinese scrolls sideways in English), so both languages are
    # checked on a phone; a desktop's width, where the two differ only in words, is checked in Chinese.
    async with axe_checker(axe_browser, client, WIDTHS if locale == "zh_CN" else WIDTHS[:1]) as check:
        deep = await deep_pages(demo_conn, username)
        seen, broken = await crawl(client, locale, await data_words(demo_conn), check, deep)
    # Every fault, one a line, with its page: the list is what to fix.
    assert broken == [], f"{len(broken)} faults on {len(seen)} pages:\n" + "\n".join(sorted(set(broken)))
    # The deep pages were reached (the demo has them for these logins) and read like the others.
    assert set(deep) <= seen and (username not in DEEP_LOGINS or deep), f"deep pages {deep} not all seen"
    # The crawl really walked the role's pages (a login that failed would see only the public few).
    assert len(seen) >= (8 if username else 4)
