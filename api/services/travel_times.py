"""Measured travel times (issue 14, step 3): an organisation (for its contracts' days) or a residents' committee (for
its respite days) uploads the minutes by e-bike between its points, e.g. exported from 高德/百度's route-matrix
service, as a CSV file of rows `from,to,minutes`. A point is a household by its register id (`H42`) or a carer's base
by the carer's id on the roster (`C7`), and only the owner's own: an organisation's carers and the households its
home-care and respite contracts serve, a committee's carers and its register.

A new upload replaces the owner's matrix as a whole, in one transaction (audited as `travel_times.replace`), and the
owner may remove it without a new one (`travel_times.remove`: plans estimate every pair again); a file
with any wrong row (an unknown point, a number that is not one, a pair twice) stores nothing and comes back with
every row's errors. A day's plan (api.services.visits.load_inputs) takes the supplied minutes for each pair it has —
a pair given in one direction only counts for both — and haversine × the detour factor at e-bike speed for the
rest; a carer on foot takes their factor times either (docs/optimiser-visits.md, "Travel").
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable

import asyncpg
import msgspec

from api.services import audit_log
from api.services.accounts import Identity
from api.services.errors import Invalid, NotFound
from api.services.needs import mask_address
from api.services.register_imports import EMPTY_FILE, Issue
from sql import travel_times as travel_sql
from sql.travel_times import MatrixRow, TravelTimeRow

REPLACED = "travel_times.replace"
REMOVED = "travel_times.remove"
# A file of at most this many bytes and rows (all pairs among ~220 points).
MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 50_000
# Minutes above 0 and at most this (the schema's bound): no ride between two stops of a day is longer.
MAX_MINUTES = 480.0
COLUMNS = ("from", "to", "minutes")
# Header words a file may carry on its first line (compared without spaces or case).
HEADER_WORDS = frozenset({"from", "to", "minutes", "起点", "终点", "分钟", "时间", "用时", "出发", "到达"})
_ONLY_OWNERS = "Only an organisation or a residents' committee supplies travel times"
POINT = re.compile(r"^([hc])([1-9][0-9]{0,17})$")

# What is wrong with the file or a row (msgids, translated at the edges; no placeholders, so the API's problem can
# translate them too).
TOO_LARGE = "The file is larger than 2 MB"
TOO_MANY_ROWS = "The file has more than 50000 rows"
NOT_TEXT = "The file is not a CSV text file (UTF-8 or GBK)"
THREE_COLUMNS = "A row has three columns: from, to, minutes"
UNKNOWN_POINT = "No household or carer of yours has this id (write H and the household's id, or C and the carer's id)"
NOT_MINUTES = "Give the minutes as a number above 0 and at most 480"
SAME_POINT = "From and to are the same point"
PAIR_TWICE = "This pair is given on an earlier row too"
REFUSED = "The travel times have errors; nothing was stored"
MESSAGES = (TOO_LARGE, TOO_MANY_ROWS, NOT_TEXT, THREE_COLUMNS, UNKNOWN_POINT, NOT_MINUTES, SAME_POINT, PAIR_TWICE)


class Refused(Invalid):
    """The file has errors: nothing was stored; `issues` names each row's (the file's own have no row)."""

    def __init__(self, issues: list[Issue]) -> None:
        fields = {(f"row {i.row}: {i.column}" if i.row is not None else "file"): i.message for i in issues[:100]}
        super().__init__(REFUSED, fields=fields)
        self.issues = issues


class Supplied(msgspec.Struct, frozen=True):
    """The owner's matrix as its carers page shows it: the file, how many pairs, when; None fields without one."""

    matrix: MatrixRow | None
    rows: list[TravelTimeRow]


def owner_of(who: Identity) -> tuple[int | None, int | None]:
    """(organisation, committee) whose travel times the caller keeps (the owner of its carers' roster)."""
    if who.role == "committee":
        return None, who.committee_id_or_refuse(_ONLY_OWNERS)
    return who.organisation_id_or_refuse(_ONLY_OWNERS), None


def point_code(kind: str, ident: int) -> str:
    """A point as the matrix stores it: 'h42' for household 42, 'c7' for carer 7's base."""
    return f"{kind[0]}{ident}"


def _point(text: str) -> str:
    """A point as written in the file, folded: full-width forms, spaces and case ('Ｈ 42' → 'h42')."""
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


def _text(content: bytes) -> str | None:
    """The file as text: UTF-8 (with or without a byte-order mark), else GBK as Excel and WPS save CSV in China."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def read_rows(content: bytes, known: set[str]) -> tuple[list[TravelTimeRow], list[Issue]]:
    """The file's pairs, or every row's issues (rows numbered as lines of the file); `known` the owner's points."""
    if not content.strip():
        return [], [Issue(None, "", EMPTY_FILE)]
    if len(content) > MAX_BYTES:
        return [], [Issue(None, "", TOO_LARGE)]
    text = _text(content)
    if text is None or "\x00" in text:
        return [], [Issue(None, "", NOT_TEXT)]
    rows: list[TravelTimeRow] = []
    issues: list[Issue] = []
    seen: set[tuple[str, str]] = set()
    try:
        # Universal newlines (newline=None): Excel for Mac ends lines with a lone CR, which csv.reader refuses else.
        records = list(csv.reader(io.StringIO(text, newline=None)))
    except csv.Error:
        # A quote never closed runs on past csv's field limit: not a CSV file to read.
        return [], [Issue(None, "", NOT_TEXT)]
    for number, cells in enumerate(records, start=1):
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        if number == 1 and any(_point(c) in HEADER_WORDS for c in cells):
            continue
        if len(rows) + len(issues) >= MAX_ROWS:
            return [], [Issue(None, "", TOO_MANY_ROWS)]
        if len(cells) != len(COLUMNS):
            issues.append(Issue(number, "", THREE_COLUMNS))
            continue
        wrong: list[Issue] = []
        ends = [_point(c) for c in cells[:2]]
        for column, point in zip(COLUMNS, ends, strict=False):
            if not POINT.match(point) or point not in known:
                wrong.append(Issue(number, column, UNKNOWN_POINT))
        minutes = _minutes(cells[2])
        if minutes is None:
            wrong.append(Issue(number, "minutes", NOT_MINUTES))
        if not wrong and ends[0] == ends[1]:
            wrong.append(Issue(number, "to", SAME_POINT))
        if not wrong and (ends[0], ends[1]) in seen:
            wrong.append(Issue(number, "to", PAIR_TWICE))
        issues += wrong
        if not wrong and minutes is not None:
            seen.add((ends[0], ends[1]))
            rows.append(TravelTimeRow(from_point=ends[0], to_point=ends[1], minutes=minutes))
    if not rows and not issues:
        return [], [Issue(None, "", EMPTY_FILE)]
    return rows, issues


def _minutes(text: str) -> float | None:
    """Minutes to a tenth, above 0 and at most MAX_MINUTES; None when it is not such a number."""
    try:
        value = float(unicodedata.normalize("NFKC", text).removesuffix("分钟").strip())
    except ValueError:
        return None
    if not 0 < value <= MAX_MINUTES or value != value:
        return None
    return max(0.1, round(value, 1))


async def replace(conn: asyncpg.Connection, who: Identity, filename: str, content: bytes) -> MatrixRow:
    """The caller's matrix replaced by the file's pairs, in one transaction (audited); Refused with every row's
    errors, and nothing stored, if any row is wrong."""
    organisation_id, committee_id = owner_of(who)
    async with conn.transaction():
        known = {p.point for p in await travel_sql.points(conn, organisation_id, committee_id)}
        rows, issues = read_rows(content, known)
        if issues:
            raise Refused(issues)
        name = (filename or "travel-times.csv")[:200]
        row, before = await travel_sql.replace(conn, organisation_id, committee_id, name, rows, who.account_id)
        await audit_log.record(
            conn, who, REPLACED, "travel_matrix", row.id,
            detail={"pairs": row.pairs, "replaced_pairs": before, "filename": name},
        )  # fmt: skip
    return row


async def remove(conn: asyncpg.Connection, who: Identity, matrix_id: int) -> MatrixRow:
    """The caller's matrix deleted, in one transaction (audited): later plans estimate every pair from coordinates
    again; plans already made keep the minutes they used. Another owner's matrix, or one replaced since, is a 404."""
    organisation_id, committee_id = owner_of(who)
    async with conn.transaction():
        row = await travel_sql.remove(conn, organisation_id, committee_id, matrix_id)
        if row is None:
            raise NotFound("No such travel times")
        await audit_log.record(
            conn, who, REMOVED, "travel_matrix", row.id, detail={"pairs": row.pairs, "filename": row.filename}
        )
    return row


async def supplied(conn: asyncpg.Connection, who: Identity) -> Supplied:
    """The caller's supplied matrix and its pairs (none uploaded: no matrix, no rows)."""
    organisation_id, committee_id = owner_of(who)
    row = await travel_sql.matrix(conn, organisation_id, committee_id)
    rows = await travel_sql.times(conn, organisation_id, committee_id) if row is not None else []
    return Supplied(matrix=row, rows=rows)


async def get(conn: asyncpg.Connection, who: Identity, matrix_id: int | None = None) -> Supplied:
    """The caller's matrix (by its id when given: another owner's is a missing one)."""
    got = await supplied(conn, who)
    if got.matrix is None or (matrix_id is not None and got.matrix.id != matrix_id):
        raise NotFound("No such travel times")
    return got


async def points_csv(conn: asyncpg.Connection, who: Identity) -> str:
    """The points the caller may name, as a CSV to feed a route-matrix service: code, what, name or masked address,
    latitude, longitude (a household's to ~100 m)."""
    organisation_id, committee_id = owner_of(who)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["point", "kind", "name", "lat", "lon"])
    for p in await travel_sql.points(conn, organisation_id, committee_id):
        if p.kind == "carer":
            writer.writerow([p.point.upper(), p.kind, p.name, f"{p.lat:.6f}", f"{p.lon:.6f}"])
        else:
            # A home to ~100 m, as the board's map shows it: enough for a route matrix, not the door.
            writer.writerow([p.point.upper(), p.kind, mask_address(p.address), f"{p.lat:.3f}", f"{p.lon:.3f}"])
    return out.getvalue()


async def day_times(
    conn: asyncpg.Connection, organisation_id: int | None, committee_id: int | None
) -> dict[tuple[str, str], float]:
    """A day's owner's supplied minutes by (from, to): each pair given in one direction only counts for both."""
    given = {(r.from_point, r.to_point): r.minutes for r in await travel_sql.times(conn, organisation_id, committee_id)}
    return given | {(b, a): m for (a, b), m in given.items() if (b, a) not in given}


def matrix_of(
    codes: list[str], supplied: dict[tuple[str, str], float], estimate: Callable[[int, int], float]
) -> tuple[tuple[tuple[float, ...], ...], int]:
    """The day's travel matrix over its points (by code): the supplied minutes for each pair there are, `estimate`
    for the rest; and how many ordered pairs came from the supplied ones."""
    used = 0
    rows = []
    for i, a in enumerate(codes):
        row = []
        for j, b in enumerate(codes):
            if i == j:
                row.append(0.0)
                continue
            given = supplied.get((a, b))
            used += given is not None
            row.append(given if given is not None else estimate(i, j))
        rows.append(tuple(row))
    return tuple(rows), used
