"""Use cases of importing the registers a committee already keeps in Excel: households (服务对象家庭) and volunteers.

Two steps. The upload is checked for what it is (an XLSX file by its bytes, within the size and row limits), kept
in PostgreSQL for a short while, and read into a preview: every row with its errors, in the sheet's own row numbers
and column names. Confirming reads the kept file again, checks every row again (against the register as it is
then) and writes every row or none, once: a second confirm of the same upload answers with what the first one did.

A household is still registered only with the written consent of the elder or their guardian: the staff tick it
per row on the preview (a consent column in the sheet ticks the box in advance, the staff confirm it), and a row
without it refuses the import. An imported volunteer is a profile without an account, which the person claims
later (docs/imports.md says why).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import unicodedata
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any, Literal

import asyncpg
import msgspec

from api.services import audit_log
from api.services.accounts import Identity
from api.services.errors import Conflict, Invalid, NotFound
from api.services.households import CREATED as HOUSEHOLD_CREATED
from api.services.needs import mask_address
from api.services.types import today
from sql import register_imports as imports_sql
from sql.households import HouseholdFields
from sql.register_imports import ImportedVolunteer

Kind = Literal["households", "volunteers"]
KINDS: tuple[Kind, ...] = ("households", "volunteers")
_ONLY_COMMITTEES = "Only a residents' committee imports its registers"
IMPORTED = "register.imported"
VOLUNTEER_IMPORTED = "volunteer.imported"
# A sheet's files together may unpack to at most this much: a small XLSX that unpacks to gigabytes is refused.
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
# The header is looked for in the first rows: committees often put a title above it.
HEADER_SEARCH_ROWS = 10
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"

# What the sheet's columns may be called, per field (compared without spaces, full-width forms or a trailing `*`).
HOUSEHOLD_HEADERS: dict[str, tuple[str, ...]] = {
    "head_name": ("姓名", "老人姓名", "户主姓名", "户主", "服务对象", "服务对象姓名", "名字"),
    "address": ("门牌/地址", "门牌地址", "门牌", "门牌号", "地址", "住址", "家庭住址", "居住地址", "详细地址"),
    "members": ("人数", "家庭人数", "户内人数", "同住人数", "居住人数", "家庭成员数"),
    "phone": ("联系电话", "电话", "手机", "手机号", "手机号码", "联系方式", "电话号码"),
    "empty_nest": ("是否独居/空巢", "是否独居空巢", "独居/空巢", "是否空巢", "是否独居", "空巢", "独居", "空巢老人"),
    "care_level": ("护理等级", "照护等级", "长护险等级", "评估等级"),
    "dialects": ("方言", "语言/方言", "语言"),
    "care_notes": ("备注", "照护备注", "注意事项", "情况说明", "身体状况"),
    "consent": ("知情同意", "是否同意", "书面同意", "同意书", "已签同意书", "是否签署同意书", "签署同意书"),
    "lat": ("纬度",),
    "lon": ("经度",),
}
VOLUNTEER_HEADERS: dict[str, tuple[str, ...]] = {
    "display_name": ("姓名", "志愿者姓名", "名字"),
    "phone": ("联系电话", "电话", "手机", "手机号", "手机号码", "联系方式", "电话号码"),
    "birth_year": ("出生年份", "出生年月", "出生日期", "出生年"),
    "age": ("年龄",),
    "skills": ("技能", "特长", "专长", "技能特长"),
    "languages": ("方言", "语言", "语言/方言"),
    "weekly_hour_cap": ("每周可服务小时", "每周服务时长", "每周时长", "每周小时"),
}
# Columns read and left out on purpose: a running number, and the identity card number the platform never collects.
IGNORED_HEADERS = ("序号", "编号", "身份证号", "身份证号码", "身份证")
REQUIRED: dict[Kind, tuple[str, ...]] = {
    "households": ("head_name", "address"),
    "volunteers": ("display_name", "phone"),
}
# The name each field's column goes by in the template sheet and in messages when the sheet has no such column.
TEMPLATE_HEADERS: dict[Kind, dict[str, str]] = {
    "households": {
        "head_name": "姓名", "address": "门牌/地址", "members": "人数", "phone": "联系电话",
        "empty_nest": "是否独居/空巢", "care_level": "护理等级", "dialects": "方言", "care_notes": "备注",
        "consent": "知情同意",
    },
    "volunteers": {
        "display_name": "姓名", "phone": "联系电话", "birth_year": "出生年份", "skills": "技能", "languages": "方言",
        "weekly_hour_cap": "每周可服务小时",
    },
}  # fmt: skip
TEMPLATE_EXAMPLES: dict[Kind, list[Any]] = {
    "households": ["王秀英", "控江路1018弄7号302室", 1, "13800001111", "是", 3, "上海话", "糖尿病，每周二复诊", "是"],
    "volunteers": ["李建国", "13900002222", 1958, "急救、开车", "上海话", 6],
}
SKILL_WORDS: dict[str, str] = {
    "急救": "first_aid", "first_aid": "first_aid",
    "养老护理": "elderly_care_cert", "养老护理证": "elderly_care_cert", "护理证": "elderly_care_cert",
    "烹饪": "cooking", "做饭": "cooking", "厨艺": "cooking",
    "理发": "haircut",
    "辅导": "tutoring", "课业辅导": "tutoring", "家教": "tutoring",
    "驾驶": "driving", "开车": "driving", "司机": "driving",
    "手语": "sign_language",
    "心理疏导": "counselling", "心理咨询": "counselling", "谈心": "counselling", "陪聊": "counselling",
}  # fmt: skip
YES = frozenset(
    {"是", "有", "√", "✓", "✔", "y", "yes", "true", "1", "独居", "空巢", "同意", "已同意", "已签", "已签署"}
)
NO = frozenset({"否", "无", "×", "✗", "x", "n", "no", "false", "0", "不同意", "未签", "未签署"})
CHINESE_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6}

# What is wrong with a file or a row (msgids, translated on the page; placeholders filled from `params`).
NOT_XLSX = "This is not an Excel workbook (.xlsx)"
OLD_XLS = "This is an old Excel file (.xls): open it in Excel or WPS and save it as .xlsx"
EMPTY_FILE = "The file is empty"
TOO_LARGE = "The file is larger than %(mb)s MB"
UNREADABLE = "The workbook could not be read; save it again as .xlsx"
NO_HEADER = "No header row was found: the first row should name the columns, e.g. 姓名"
MISSING_COLUMN = "The sheet has no column %(column)s"
TOO_MANY_ROWS = "The sheet has more than %(n)s rows; split it into smaller sheets"
NO_ROWS = "The sheet has no rows below its header"
REQUIRED_VALUE = "This cell must be filled in"
TOO_LONG = "This is too long (at most %(n)s characters)"
BAD_PHONE = "A phone number has 7 to 15 digits"
BAD_MEMBERS = "Give the number of people as a whole number from 1 to 20"
BAD_YES_NO = "Write 是 or 否"
BAD_CARE_LEVEL = "A care level is a number from 1 to 6"
BAD_BIRTH_YEAR = "Give the year of birth, e.g. 1958"
TOO_YOUNG = "Volunteers under 14 register themselves with a guardian's consent"
BAD_HOURS = "Give the weekly hours as a whole number from 0 to 60"
BAD_POINT = "Give latitude and longitude as decimal degrees inside the district"
UNKNOWN_SKILL = "Unknown skill %(word)s; known skills: 急救、养老护理、烹饪、理发、辅导、驾驶、手语、心理疏导"
SAME_AS_ROW = "Same as row %(row)s: a household is registered once"
SAME_PHONE_AS_ROW = "Same phone number as row %(row)s: a volunteer is registered once"
ALREADY_REGISTERED = "This household is already in the register"
ALREADY_VOLUNTEER = "A volunteer of your committee already has this phone number"
NO_CONSENT = "Tick the box once the written consent of the elder or their guardian is on file"
MESSAGES = (
    NOT_XLSX, OLD_XLS, EMPTY_FILE, TOO_LARGE, UNREADABLE, NO_HEADER, MISSING_COLUMN, TOO_MANY_ROWS, NO_ROWS,
    REQUIRED_VALUE, TOO_LONG, BAD_PHONE, BAD_MEMBERS, BAD_YES_NO, BAD_CARE_LEVEL, BAD_BIRTH_YEAR, TOO_YOUNG,
    BAD_HOURS, BAD_POINT, UNKNOWN_SKILL, SAME_AS_ROW, SAME_PHONE_AS_ROW, ALREADY_REGISTERED, ALREADY_VOLUNTEER,
    NO_CONSENT,
)  # fmt: skip


class Limits(msgspec.Struct, frozen=True):
    """How large an upload may be and how long it waits for its confirmation (from the settings)."""

    max_bytes: int
    max_rows: int
    minutes: int


def limits_of(settings: Any) -> Limits:
    """The limits from the app's settings."""
    return Limits(
        max_bytes=int(settings.import_max_bytes),
        max_rows=int(settings.import_max_rows),
        minutes=int(settings.import_minutes),
    )


# The largest body the upload route reads at all; the setting (at most this) is checked by the use case.
UPLOAD_CEILING = 20 * 1024 * 1024


class Issue(msgspec.Struct, frozen=True):
    """What is wrong: the row as Excel numbers it (None for the sheet as a whole), the column as the sheet names it."""

    row: int | None
    column: str
    message: str
    params: dict[str, str] = {}


class PreviewRow(msgspec.Struct, frozen=True):
    """One row of the sheet as the preview lists it: who, a masked address or phone, and its issues."""

    row: int
    name: str
    detail: str
    facts: list[str]
    consent_in_sheet: bool
    issues: list[Issue]


class Preview(msgspec.Struct, frozen=True):
    """An upload as the staff see it before confirming: every row with its errors, and what became of it."""

    public_id: str
    kind: str
    filename: str
    sheet: str
    created_at: dt.datetime
    expires_at: dt.datetime
    expired: bool
    confirmed_at: dt.datetime | None
    imported: int | None
    columns: list[tuple[str, str]]
    not_understood: list[str]
    ignored: list[str]
    rows: list[PreviewRow]
    issues: list[Issue]

    @property
    def error_count(self) -> int:
        """How many problems stop the import (the sheet's own and every row's)."""
        return len(self.issues) + sum(len(r.issues) for r in self.rows)


class Confirmed(msgspec.Struct, frozen=True):
    """What confirming did: how many rows were written, and whether an earlier confirm had done it already."""

    public_id: str
    kind: str
    imported: int
    already: bool


# Reading the sheet ---------------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """A header or key as compared: full-width forms folded, spaces and a required-field star removed."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(folded.split()).strip("*：:").lower()


def _header_index(kind: Kind) -> dict[str, str]:
    table = HOUSEHOLD_HEADERS if kind == "households" else VOLUNTEER_HEADERS
    return {normalise(h): field for field, names in table.items() for h in names}


def field_of(header: str, kind: Kind) -> str | None:
    """The field a column header names, forgiving spaces, full-width forms and a note in brackets; None if unknown."""
    index = _header_index(kind)
    key = normalise(header)
    if key in index:
        return index[key]
    bare = re.sub(r"[(（\[【].*?[)）\]】]", "", key)
    return index.get(bare)


def _cell_text(value: Any) -> str:
    """A cell as the text a person sees: a whole number without `.0`, a date as a date."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return str(value).replace("\x00", "").strip()


def _check_file(content: bytes, max_bytes: int) -> Issue | None:
    """Why the bytes are not an XLSX workbook we read, or None."""
    if not content:
        return Issue(None, "", EMPTY_FILE)
    if len(content) > max_bytes:
        return Issue(None, "", TOO_LARGE, {"mb": f"{max_bytes / 1024 / 1024:g}"})
    if content.startswith(OLE_MAGIC):
        return Issue(None, "", OLD_XLS)
    if not content.startswith(XLSX_MAGIC):
        return Issue(None, "", NOT_XLSX)
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        return Issue(None, "", NOT_XLSX)
    if "xl/workbook.xml" not in {i.filename for i in infos}:
        return Issue(None, "", NOT_XLSX)
    if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
        return Issue(None, "", TOO_LARGE, {"mb": f"{max_bytes / 1024 / 1024:g}"})
    return None


class Sheet(msgspec.Struct, frozen=True):
    """The first worksheet of a workbook: its name, header row number and the rows below it (row number, cells)."""

    name: str
    header_row: int
    headers: list[str]
    rows: list[tuple[int, list[str]]]
    too_many: bool


def read_sheet(content: bytes, kind: Kind, max_rows: int) -> Sheet | Issue:
    """The first worksheet's header and data rows (empty rows left out), or what stops it being read."""
    import openpyxl  # a second or so to import: only the import pages need it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError):
        return Issue(None, "", UNREADABLE)
    try:
        worksheet = workbook.worksheets[0]
        rows: Iterator[tuple[Any, ...]] = worksheet.iter_rows(values_only=True)
        header_row, headers = 0, []
        for number, values in enumerate(rows, start=1):
            texts = [_cell_text(v) for v in values]
            if sum(1 for t in texts if t and field_of(t, kind)) >= 2:
                header_row, headers = number, texts
                break
            if number >= HEADER_SEARCH_ROWS:
                break
        if not header_row:
            return Issue(None, "", NO_HEADER)
        data: list[tuple[int, list[str]]] = []
        too_many = False
        for number, values in enumerate(rows, start=header_row + 1):
            texts = [_cell_text(v) for v in values]
            if not any(texts):
                continue
            if len(data) >= max_rows:
                too_many = True
                break
            data.append((number, texts))
        return Sheet(name=str(worksheet.title), header_row=header_row, headers=headers, rows=data, too_many=too_many)
    except (KeyError, ValueError, TypeError, zipfile.BadZipFile):
        return Issue(None, "", UNREADABLE)
    finally:
        workbook.close()


# Checking the rows ----------------------------------------------------------------------------------------------


def _yes_no(text: str) -> bool | None:
    key = normalise(text)
    if key in YES:
        return True
    if key in NO or key == "":
        return False
    return None


def mask_phone(phone: str) -> str:
    """A phone number as the register shows it: 139****0001 (nothing when it is too short to be one)."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else ""


def phone_of(text: str) -> str | None:
    """The phone as stored (digits, a leading +), or None when it is not one."""
    digits = re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", text))
    return digits if re.fullmatch(r"\+?[0-9]{7,15}", digits) else None


def _words(text: str) -> list[str]:
    for sep in ("，", "、", ";", "；", "/", " "):
        text = text.replace(sep, ",")
    seen: list[str] = []
    for part in text.split(","):
        if part.strip() and part.strip() not in seen:
            seen.append(part.strip())
    return seen


def _care_level(text: str) -> int | Literal[False] | None:
    """The care level 1–6, None when empty, False when it is not one."""
    key = normalise(text).removesuffix("级").removeprefix("护理")
    if not key:
        return None
    value = CHINESE_DIGITS.get(key) or (int(key) if key.isdigit() else 0)
    return value if 1 <= value <= 6 else False


def _birth_year(text: str) -> int | None:
    match = re.match(r"^((?:19|20)[0-9]{2})", normalise(text))
    return int(match.group(1)) if match else None


def address_key(address: str) -> str:
    """An address as compared for repeats: full-width forms folded, no spaces."""
    return normalise(address)


class _Columns:
    """The sheet's columns by field, and each field's column name as the sheet writes it."""

    def __init__(self, headers: list[str], kind: Kind) -> None:
        self.index: dict[str, int] = {}
        self.names: dict[str, str] = dict(TEMPLATE_HEADERS[kind])
        self.not_understood: list[str] = []
        self.ignored: list[str] = []
        for i, header in enumerate(headers):
            if not header:
                continue
            field = field_of(header, kind)
            if field is None:
                bare = normalise(header)
                (self.ignored if bare in {normalise(h) for h in IGNORED_HEADERS} else self.not_understood).append(
                    header
                )
            elif field not in self.index:
                self.index[field] = i
                self.names[field] = header
            else:
                self.not_understood.append(header)
        if kind == "volunteers" and "birth_year" not in self.index and "age" in self.index:
            self.names["birth_year"] = self.names["age"]

    def cell(self, cells: list[str], field: str) -> str:
        i = self.index.get(field)
        return cells[i] if i is not None and i < len(cells) else ""

    def understood(self) -> list[tuple[str, str]]:
        return [(self.names[f], f) for f, _ in sorted(self.index.items(), key=lambda item: item[1])]


class _Checked(msgspec.Struct, frozen=True):
    """A sheet checked row by row: the preview's rows, the values to store per row, and the sheet's own issues."""

    columns: list[tuple[str, str]]
    not_understood: list[str]
    ignored: list[str]
    rows: list[PreviewRow]
    households: dict[int, HouseholdFields]
    volunteers: dict[int, ImportedVolunteer]
    issues: list[Issue]
    sheet: str


def _once(
    issues: list[Issue],
    row: int,
    column: str,
    key: str,
    seen: dict[str, int],
    known: set[str],
    again: str,
    known_already: str,
) -> None:
    """A row's identifying value (an address's key, a phone) stands once: not on an earlier row of the sheet (`again`,
    naming that row) nor among those already registered (`known_already`); `seen` remembers it for the rows after."""
    if key in seen:
        issues.append(Issue(row, column, again, {"row": str(seen[key])}))
    elif key in known:
        issues.append(Issue(row, column, known_already))
    else:
        seen[key] = row


def _text(cols: _Columns, cells: list[str], field: str, row: int, issues: list[Issue], limit: int = 200) -> str:
    value = cols.cell(cells, field)
    if len(value) > limit:
        issues.append(Issue(row, cols.names[field], TOO_LONG, {"n": str(limit)}))
    return value


def _household_row(
    cols: _Columns, row: int, cells: list[str], point: tuple[float, float], seen: dict[str, int], known: set[str]
) -> tuple[PreviewRow, HouseholdFields | None]:
    issues: list[Issue] = []
    name = _text(cols, cells, "head_name", row, issues)
    address = _text(cols, cells, "address", row, issues)
    for field, value in (("head_name", name), ("address", address)):
        if not value:
            issues.append(Issue(row, cols.names[field], REQUIRED_VALUE))
    phone_text = cols.cell(cells, "phone")
    phone = phone_of(phone_text) if phone_text else None
    if phone_text and phone is None:
        issues.append(Issue(row, cols.names["phone"], BAD_PHONE))
    members_text = normalise(cols.cell(cells, "members")).removesuffix("人")
    members = int(members_text) if members_text.isdigit() else (1 if not members_text else 0)
    if not 1 <= members <= 20:
        issues.append(Issue(row, cols.names["members"], BAD_MEMBERS))
    # Without the column, a household is taken as empty-nest, as the register's form assumes.
    empty_nest = _yes_no(cols.cell(cells, "empty_nest")) if "empty_nest" in cols.index else True
    if empty_nest is None:
        issues.append(Issue(row, cols.names["empty_nest"], BAD_YES_NO))
    care_level = _care_level(cols.cell(cells, "care_level"))
    if care_level is False:
        issues.append(Issue(row, cols.names["care_level"], BAD_CARE_LEVEL))
    consent = _yes_no(cols.cell(cells, "consent"))
    if consent is None:
        issues.append(Issue(row, cols.names["consent"], BAD_YES_NO))
    lat, lon = point
    if "lat" in cols.index or "lon" in cols.index:
        try:
            lat, lon = float(cols.cell(cells, "lat")), float(cols.cell(cells, "lon"))
        except ValueError:
            issues.append(Issue(row, cols.names.get("lat", "纬度"), BAD_POINT))
        else:
            if abs(lat - point[0]) > 0.5 or abs(lon - point[1]) > 0.5:
                issues.append(Issue(row, cols.names.get("lat", "纬度"), BAD_POINT))
    notes = _text(cols, cells, "care_notes", row, issues, limit=2000)
    dialects = [d[:40] for d in _words(cols.cell(cells, "dialects"))][:10]
    if address:
        _once(issues, row, cols.names["address"], address_key(address), seen, known, SAME_AS_ROW, ALREADY_REGISTERED)
    facts = [str(members)]
    preview = PreviewRow(
        row=row, name=name, detail=mask_address(address) if address else "", facts=facts,
        consent_in_sheet=bool(consent), issues=issues,
    )  # fmt: skip
    if issues:
        return preview, None
    return preview, HouseholdFields(
        head_name=name, address=address, phone=phone, lat=lat, lon=lon, members=members,
        empty_nest=bool(empty_nest), care_level=care_level or None, dialects=dialects, care_notes=notes, visit_slots=[],
    )  # fmt: skip


def _volunteer_row(
    cols: _Columns, row: int, cells: list[str], seen: dict[str, int], known: set[str]
) -> tuple[PreviewRow, ImportedVolunteer | None]:
    issues: list[Issue] = []
    name = _text(cols, cells, "display_name", row, issues)
    if not name:
        issues.append(Issue(row, cols.names["display_name"], REQUIRED_VALUE))
    phone_text = cols.cell(cells, "phone")
    phone = phone_of(phone_text)
    if not phone_text:
        issues.append(Issue(row, cols.names["phone"], REQUIRED_VALUE))
    elif phone is None:
        issues.append(Issue(row, cols.names["phone"], BAD_PHONE))
    this_year = today().year
    if "birth_year" in cols.index:
        birth_year = _birth_year(cols.cell(cells, "birth_year"))
    else:
        age = normalise(cols.cell(cells, "age")).removesuffix("岁")
        birth_year = this_year - int(age) if age.isdigit() else None
    if birth_year is None or not 1920 <= birth_year <= this_year:
        issues.append(Issue(row, cols.names["birth_year"], BAD_BIRTH_YEAR))
    elif this_year - birth_year < 14:
        issues.append(Issue(row, cols.names["birth_year"], TOO_YOUNG))
    skills: list[str] = []
    for word in _words(cols.cell(cells, "skills")):
        code = SKILL_WORDS.get(word.removesuffix("证").lower()) or SKILL_WORDS.get(word.lower())
        if code is None:
            issues.append(Issue(row, cols.names["skills"], UNKNOWN_SKILL, {"word": word}))
        elif code not in skills:
            skills.append(code)
    hours_text = normalise(cols.cell(cells, "weekly_hour_cap")).removesuffix("小时")
    hours = int(hours_text) if hours_text.isdigit() else (8 if not hours_text else -1)
    if not 0 <= hours <= 60:
        issues.append(Issue(row, cols.names["weekly_hour_cap"], BAD_HOURS))
    if phone:
        _once(issues, row, cols.names["phone"], phone, seen, known, SAME_PHONE_AS_ROW, ALREADY_VOLUNTEER)
    masked = mask_phone(phone or "")
    preview = PreviewRow(
        row=row, name=name, detail=masked, facts=[str(birth_year or "")], consent_in_sheet=False, issues=issues
    )
    if issues or phone is None or birth_year is None:
        return preview, None
    languages = [w[:20] for w in _words(cols.cell(cells, "languages"))][:10]
    return preview, ImportedVolunteer(
        display_name=name, birth_year=birth_year, phone=phone, skills=sorted(skills), languages=languages,
        weekly_hour_cap=hours,
    )  # fmt: skip


async def _check(conn: asyncpg.Connection, committee_id: int, kind: Kind, content: bytes, limits: Limits) -> _Checked:
    """Read the kept file and check every row against itself and the committee's register as it is now."""
    problem = _check_file(content, limits.max_bytes)
    sheet = problem if problem is not None else read_sheet(content, kind, limits.max_rows)
    if isinstance(sheet, Issue):
        return _Checked([], [], [], [], {}, {}, [sheet], "")
    cols = _Columns(sheet.headers, kind)
    issues = [Issue(None, cols.names[f], MISSING_COLUMN, {"column": cols.names[f]}) for f in REQUIRED[kind]
              if f not in cols.index]  # fmt: skip
    if kind == "volunteers" and "birth_year" not in cols.index and "age" not in cols.index:
        issues.append(Issue(None, "出生年份", MISSING_COLUMN, {"column": "出生年份"}))
    if sheet.too_many:
        issues.append(Issue(None, "", TOO_MANY_ROWS, {"n": str(limits.max_rows)}))
    if not sheet.rows:
        issues.append(Issue(None, "", NO_ROWS))
    rows: list[PreviewRow] = []
    households: dict[int, HouseholdFields] = {}
    volunteers: dict[int, ImportedVolunteer] = {}
    if not issues:
        seen: dict[str, int] = {}
        if kind == "households":
            point = await imports_sql.committee_point(conn, committee_id)
            known = {address_key(h.address) for h in await imports_sql.known_households(conn, committee_id)}
            for number, cells in sheet.rows:
                preview, household = _household_row(cols, number, cells, point, seen, known)
                rows.append(preview)
                if household is not None:
                    households[number] = household
        else:
            stored = await imports_sql.known_volunteer_phones(conn, committee_id)
            phones = {p for p in (phone_of(x) for x in stored) if p}
            for number, cells in sheet.rows:
                preview, volunteer = _volunteer_row(cols, number, cells, seen, phones)
                rows.append(preview)
                if volunteer is not None:
                    volunteers[number] = volunteer
    return _Checked(
        cols.understood(), cols.not_understood, cols.ignored, rows, households, volunteers, issues, sheet.name
    )


# Use cases ------------------------------------------------------------------------------------------------------


def kind_of(kind: str) -> Kind:
    """The register a path names; 404 for any other word."""
    if kind not in KINDS:
        raise NotFound("No such register")
    return "households" if kind == "households" else "volunteers"


async def upload(
    conn: asyncpg.Connection, who: Identity, kind: str, filename: str, content: bytes, limits: Limits
) -> str:
    """Keep an uploaded sheet for its preview; its public id. A file that is not an XLSX workbook is refused."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    register = kind_of(kind)
    problem = _check_file(content, limits.max_bytes)
    if problem is not None:
        raise Invalid(problem.message, fields={"file": problem.message}, **problem.params)
    name = unicodedata.normalize("NFKC", filename).replace("\x00", "").replace("/", "_").replace("\\", "_")[-200:]
    async with conn.transaction():
        public_id = await imports_sql.store_upload(
            conn, committee_id, who.account_id, kind=register, filename=name,
            digest=hashlib.sha256(content).digest(), content=content, minutes=limits.minutes,
        )  # fmt: skip
    return str(public_id)


async def drop_expired(conn: asyncpg.Connection) -> int:
    """Drop the files of uploads whose preview expired unconfirmed (they hold personal data); how many (a cron job)."""
    return await imports_sql.drop_expired(conn)


def _public(public_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(public_id)
    except ValueError:
        raise NotFound("No such upload") from None


def _preview(row: imports_sql.ImportRow, checked: _Checked | None, extra: list[Issue] | None = None) -> Preview:
    rows = checked.rows if checked else []
    if extra:
        by_row: dict[int, list[Issue]] = {}
        for issue in extra:
            by_row.setdefault(issue.row or 0, []).append(issue)
        rows = [msgspec.structs.replace(r, issues=[*r.issues, *by_row.get(r.row, [])]) for r in rows]
    return Preview(
        public_id=str(row.public_id), kind=row.kind, filename=row.filename, sheet=checked.sheet if checked else "",
        created_at=row.created_at, expires_at=row.expires_at, expired=row.expired, confirmed_at=row.confirmed_at,
        imported=row.imported, columns=checked.columns if checked else [],
        not_understood=checked.not_understood if checked else [], ignored=checked.ignored if checked else [],
        rows=rows, issues=checked.issues if checked else [],
    )  # fmt: skip


async def preview(conn: asyncpg.Connection, who: Identity, public_id: str, limits: Limits) -> Preview:
    """The upload with every row and its errors; after it was confirmed, what it imported."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    row = await imports_sql.get_import(conn, _public(public_id), committee_id)
    if row is None:
        # Another committee's upload answers as a missing one.
        raise NotFound("No such upload")
    if row.content is None or row.expired:
        return _preview(row, None)
    return _preview(row, await _check(conn, committee_id, kind_of(row.kind), row.content, limits))


class Refused(Invalid):
    """The sheet has errors: nothing was imported; the preview says what is wrong on which row."""

    def __init__(self, preview: Preview) -> None:
        super().__init__("The register has errors; nothing was imported", errors=preview.error_count)
        self.preview = preview


async def confirm(
    conn: asyncpg.Connection, who: Identity, public_id: str, consent_rows: set[int], limits: Limits
) -> Confirmed:
    """Import every row of the upload or none (Refused, with the preview naming each error); once: a second
    confirm answers with what the first one did. Households need the consent ticked on their rows."""
    committee_id = who.committee_id_or_refuse(_ONLY_COMMITTEES)
    async with conn.transaction():
        row = await imports_sql.lock_import(conn, _public(public_id), committee_id)
        if row is None:
            raise NotFound("No such upload")
        kind = kind_of(row.kind)
        if row.confirmed_at is not None:
            return Confirmed(public_id=public_id, kind=kind, imported=row.imported or 0, already=True)
        if row.content is None or row.expired:
            raise Conflict("The upload has expired; upload the sheet again")
        if hashlib.sha256(row.content).digest() != row.digest:
            raise Conflict("The upload has expired; upload the sheet again")
        checked = await _check(conn, committee_id, kind, row.content, limits)
        missing: list[Issue] = []
        if kind == "households":
            consent_name = TEMPLATE_HEADERS["households"]["consent"]
            for name, field in checked.columns:
                if field == "consent":
                    consent_name = name
            missing = [Issue(r.row, consent_name, NO_CONSENT) for r in checked.rows if r.row not in consent_rows]
        result = _preview(row, checked, missing)
        if result.error_count:
            raise Refused(result)
        if kind == "households":
            await imports_sql.insert_households(conn, committee_id, row.id, list(checked.households.values()))
            count, action, object_type = len(checked.households), HOUSEHOLD_CREATED, "household"
        else:
            await imports_sql.insert_volunteers(conn, committee_id, row.id, list(checked.volunteers.values()))
            count, action, object_type = len(checked.volunteers), VOLUNTEER_IMPORTED, "volunteer"
        await imports_sql.audit_imported(
            conn, who.account_id, action=action, object_type=object_type, public_id=public_id, import_id=row.id
        )
        await imports_sql.mark_confirmed(conn, row.id, count)
        await audit_log.record(conn, who, IMPORTED, "register_import", row.id, detail={"kind": kind, "rows": count})
    return Confirmed(public_id=public_id, kind=kind, imported=count, already=False)


def template_workbook(kind: str) -> bytes:
    """An empty register to fill in: the columns this import reads, and a sheet of instructions with an example."""
    import openpyxl
    from openpyxl.styles import Font

    register = kind_of(kind)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "服务对象家庭" if register == "households" else "志愿者"
    headers = list(TEMPLATE_HEADERS[register].values())
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for i, header in enumerate(headers):
        sheet.column_dimensions[openpyxl.utils.get_column_letter(i + 1)].width = max(12, 3 * len(header))
    notes = workbook.create_sheet("填写说明")
    notes.append(["填写说明：第一张工作表的第一行是列名，每行一户（或一人）；示例如下（请勿填入第一张表）。"])
    notes.append(headers)
    notes.append(TEMPLATE_EXAMPLES[register])
    if register == "households":
        notes.append(["「知情同意」填「是」表示已取得本人或监护人书面同意；导入前仍须在预览页逐户确认。"])
        notes.append(["「门牌/地址」写到门牌和室号；家庭位置先取居委会中心，导入后可在家庭页面修改。"])
    else:
        notes.append(["导入的志愿者暂无账号：本人用登记的手机号认领后才能报名班次。平台不收集身份证号。"])
    workbook.properties.creator = "Linli"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
