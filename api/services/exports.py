"""Lists as CSV or XLSX files: headers in the reader's language, money in yuan, times in Shanghai, no formulas."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Literal
from urllib.parse import quote

import msgspec
from openpyxl import Workbook

from api.services.types import SHANGHAI

Format = Literal["csv", "xlsx"]
Kind = Literal["text", "int", "money", "date", "datetime"]

# Litestar appends "; charset=utf-8" to text/* media types itself.
CSV_MEDIA_TYPE = "text/csv"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection), also after leading spaces,
# and some read the full-width forms a Chinese keyboard types as the ASCII ones; a leading ' disarms it.
_FORMULA_STARTS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_CONTROL_STARTS = ("\t", "\r", "\n")
_ROWS_PER_CHUNK = 200


class Column(msgspec.Struct, frozen=True):
    """One column: its header in English and Chinese, and how its values are written."""

    en: str
    zh: str
    kind: Kind = "text"


class Table(msgspec.Struct, frozen=True):
    """A list ready to export: a file name stem, its columns, and its rows (values in column order)."""

    name: str
    columns: list[Column]
    rows: Iterable[Sequence[object]]


class Export(msgspec.Struct, frozen=True):
    """A file to send: its name, media type, and body in chunks."""

    filename: str
    media_type: str
    chunks: Iterable[bytes]


def headers(table: Table, locale: str) -> list[str]:
    """The column headers in the reader's language (Chinese unless English was chosen)."""
    return [column.en if locale == "en" else column.zh for column in table.columns]


def label(value: str | None, words: Mapping[str, tuple[str, str]], locale: str) -> str:
    """A status or other code as the reader reads it: `words` maps a code to its (Chinese, English) label."""
    if value is None:
        return ""
    zh, en = words.get(value, (value, value))
    return en if locale == "en" else zh


def safe_text(value: str) -> str:
    """Text that no spreadsheet runs as a formula: a cell that would start one gets a leading '."""
    if value.startswith(_CONTROL_STARTS) or value.lstrip().startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _cell(value: object, kind: Kind) -> object:
    """A value as a spreadsheet cell: yuan for fen, a Shanghai wall-clock time for a moment."""
    if value is None:
        return None
    if kind == "money" and isinstance(value, int):
        return (Decimal(value) / 100).quantize(Decimal("0.01"))
    if kind == "datetime" and isinstance(value, dt.datetime):
        # Spreadsheets have no time zones: write the time people read, in Shanghai.
        return value.astimezone(SHANGHAI).replace(tzinfo=None, microsecond=0)
    if isinstance(value, str):
        return safe_text(value)
    return value


def _csv_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def csv_chunks(table: Table, locale: str) -> Iterator[bytes]:
    """The table as UTF-8 CSV (with a BOM, so that Excel reads the Chinese), a few hundred rows per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(headers(table, locale))
    kinds = [column.kind for column in table.columns]
    for count, row in enumerate(table.rows, start=1):
        writer.writerow([_csv_text(_cell(value, kind)) for value, kind in zip(row, kinds, strict=True)])
        if count % _ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def xlsx_bytes(table: Table, locale: str) -> bytes:
    """The table as an XLSX workbook of one sheet, written row by row (openpyxl's write-only mode)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(table.name[:31])
    sheet.append(headers(table, locale))
    kinds = [column.kind for column in table.columns]
    for row in table.rows:
        sheet.append([_cell(value, kind) for value, kind in zip(row, kinds, strict=True)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def render(table: Table, fmt: Format, locale: str, today: dt.date) -> Export:
    """The table as a file in the chosen format, named after the list and the day."""
    filename = f"{table.name}-{today:%Y%m%d}.{fmt}"
    if fmt == "csv":
        return Export(filename=filename, media_type=CSV_MEDIA_TYPE, chunks=csv_chunks(table, locale))
    return Export(filename=filename, media_type=XLSX_MEDIA_TYPE, chunks=[xlsx_bytes(table, locale)])


def content_disposition(filename: str) -> str:
    """An attachment header; a name beyond plain ASCII goes in RFC 6266's filename* (UTF-8), with a stand-in."""
    plain = "".join(ch if " " <= ch <= "~" and ch not in '"\\' else "_" for ch in filename)
    if plain == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"
