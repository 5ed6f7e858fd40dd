"""The service record certificate (志愿服务记录证明) as an A4 PDF, in the fields of 《志愿服务记录与证明出具办法》: the
volunteer's name and platform number (Linli collects no 身份证 number), the organising bodies, each service's date,
content, place and hours in date order, the period and totals, the issuer and the date, and a QR code to the public
verification page. Every page carries the certificate's number and "page n of m".

Each run of text is set in the font that has it, so the certificate reads the same on a machine without a Chinese
font: hanzi and Chinese punctuation in a GB 2312 subset of Droid Sans Fallback that the project ships (web/fonts/,
Apache 2.0; reportlab embeds only the glyphs a PDF uses), Latin in Helvetica (a standard font every reader has), and
a rare hanzi outside GB 2312 in STSong-Light, the standard CID font that the reader supplies from its own Song face.
A certificate in STSong-Light alone would need no font file, but Chromium's viewer on a machine without a Chinese
font then shows no Chinese at all.
"""

from __future__ import annotations

import functools
import io
import itertools
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from api.i18n import gettext as _
from api.i18n import hours, listing, local_date, ngettext
from api.services.service_records import Certificate, check_code_shown

FONT = "LinliHan"
LATIN = "Helvetica"
FALLBACK = "STSong-Light"
pdfmetrics.registerFont(TTFont(FONT, Path(__file__).parent / "fonts" / "DroidSansFallback-GB2312.ttf"))
pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK))
_HAN = frozenset(chr(c) for c in pdfmetrics.getFont(FONT).face.charToGlyph)

MEDIA_TYPE = "application/pdf"
_MARGIN = 18 * mm
_RED = colors.HexColor("#a3261c")
_GREY = colors.HexColor("#4f5863")
_MARK_SIZE = 8.5
_LINE = colors.HexColor("#b8bec6")


def _style(name: str, size: float, **extra: Any) -> ParagraphStyle:
    # wordWrap CJK breaks Chinese between any two characters, as the language is set; Latin words still stay whole.
    settings: dict[str, Any] = {"fontName": FONT, "fontSize": size, "leading": size * 1.5, "wordWrap": "CJK"}
    return ParagraphStyle(name, **(settings | extra))


_TITLE = _style("title", 22, alignment=TA_CENTER, textColor=_RED, spaceAfter=4 * mm)
_NUMBER = _style("number", 10, alignment=TA_RIGHT, textColor=_GREY)
_BODY = _style("body", 11.5, firstLineIndent=23, spaceBefore=3 * mm, spaceAfter=3 * mm, leading=20)
_CELL = _style("cell", 9.5)
_HEAD = _style("head", 9.5, textColor=colors.white)
_LABEL = _style("label", 10, textColor=_GREY)
_FIELD = _style("field", 10.5)
_SMALL = _style("small", 8.5, textColor=_GREY)


def _font_of(char: str) -> str:
    """The font that sets a character: Helvetica for what Windows-1252 holds, else the shipped hanzi, else the CID."""
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return FONT if char in _HAN else FALLBACK
    return LATIN


def runs(text: str) -> list[tuple[str, str]]:
    """The text cut into (font, run) pieces, each run set in one font."""
    return [(font, "".join(chars)) for font, chars in itertools.groupby(text, key=_font_of)]


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (names and titles people typed are escaped, never read as markup)."""
    return Paragraph("".join(f'<font face="{font}">{escape(run)}</font>' for font, run in runs(text)), style)


class _NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab ships no type hints
    """A canvas that knows the page count when it closes, to print "page n of m" and the number on every page."""

    def __init__(self, *args: Any, number: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._number = number
        self._saved: list[dict[str, Any]] = []

    def showPage(self) -> None:
        """Keep the page to number it at the end."""
        self._saved.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        """Print each page's marks now that the count is known, then write the file."""
        for page, state in enumerate(self._saved, start=1):
            self.__dict__.update(state)
            self._marks(page, len(self._saved))
            super().showPage()
        super().save()

    def _marks(self, page: int, pages: int) -> None:
        width, _height = A4
        self.setFillColor(_GREY)
        self._line(_MARGIN, _("Certificate no. %(number)s") % {"number": self._number})
        numbered = _("Page %(page)s of %(pages)s") % {"page": page, "pages": pages}
        self._line(width - _MARGIN - _width(numbered, _MARK_SIZE), numbered)

    def _line(self, x: float, text: str) -> None:
        """One line of the page's marks at the foot, each run in its font (one text object: read back as one line)."""
        line = self.beginText(x, 10 * mm)
        for font, run in runs(text):
            line.setFont(font, _MARK_SIZE)
            line.textOut(run)
        self.drawText(line)


def _width(text: str, size: float) -> float:
    return sum(float(pdfmetrics.stringWidth(run, font, size)) for font, run in runs(text))


def _qr(url: str, size: float) -> Drawing:
    widget = QrCodeWidget(url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def _fields(issued: Certificate, issuer: str) -> Table:
    """The certificate's fields as label–value pairs, two to a row."""
    c = issued.certificate
    period = issued.period
    spans = f"{local_date(period[0])} – {local_date(period[1])}" if period else "—"
    total = ngettext("%(hours)s in %(num)s service", "%(hours)s in %(num)s services", c.records) % {
        "hours": hours(c.minutes),
        "num": c.records,
    }
    level = _("No star yet")
    if c.stars:
        level = (
            "★" * c.stars
            + "☆" * (5 - c.stars)
            + " "
            + ngettext("%(num)s-star volunteer", "%(num)s-star volunteer", c.stars) % {"num": c.stars}
        )
    pairs = [
        (_("Full name"), c.volunteer_name, _("Volunteer no."), c.volunteer_number),
        (_("Service period"), spans, _("Total hours"), total),
        (_("Organised by"), listing(issued.organisers) or "—", "", ""),
        (_("Star level"), level, "", ""),
        (_("Issued by"), issuer, _("Date of issue"), local_date(c.issued_at)),
    ]
    rows = [[_p(a, _LABEL), _p(b, _FIELD), _p(x, _LABEL), _p(y, _FIELD)] for a, b, x, y in pairs]
    table = Table(rows, colWidths=[24 * mm, 63 * mm, 24 * mm, 63 * mm])
    table.setStyle(
        TableStyle(
            [
                ("SPAN", (1, 2), (3, 2)),
                ("SPAN", (1, 3), (3, 3)),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, _LINE),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


def _records(issued: Certificate) -> Table:
    """The certified services in date order, the header row repeated on every page."""
    head = [_("No."), _("Date"), _("Service content"), _("Place"), _("Organised by"), _("Hours")]
    rows: list[list[Flowable]] = [[_p(h, _HEAD) for h in head]]
    for n, item in enumerate(issued.items, start=1):
        rows.append(
            [
                _p(str(n), _CELL),
                _p(local_date(item.starts_at), _CELL),
                _p(item.title, _CELL),
                _p(item.place_name, _CELL),
                _p(item.publisher_name, _CELL),
                _p(hours(item.minutes), _CELL),
            ]
        )
    table = Table(rows, colWidths=[12 * mm, 30 * mm, 42 * mm, 28 * mm, 34 * mm, 28 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), _RED),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f6f1ef")]),
                ("GRID", (0, 0), (-1, -1), 0.4, _LINE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _closing(issued: Certificate, issuer: str, verify_url: str) -> KeepTogether:
    """The issuer, the date and the QR code to the public verification page, kept on one page."""
    c = issued.certificate
    words = [
        _p(_("Issued by: %(issuer)s") % {"issuer": issuer}, _FIELD),
        _p(_("Date of issue: %(date)s") % {"date": local_date(c.issued_at)}, _FIELD),
        Spacer(1, 2 * mm),
        _p(_("Check code: %(code)s") % {"code": check_code_shown(c.check_code)}, _FIELD),
        _p(_("Scan the QR code, or open %(url)s, to verify this certificate.") % {"url": verify_url}, _SMALL),
        _p(
            _(
                "Issued free of charge under the Measures for Recording and Certifying Volunteer Service, from hours "
                "confirmed by the organising bodies."
            ),
            _SMALL,
        ),
    ]
    table = Table([[words, _qr(verify_url, 32 * mm)]], colWidths=[138 * mm, 36 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "RIGHT")]))
    return KeepTogether([Spacer(1, 6 * mm), table])


def render(issued: Certificate, *, issuer: str, verify_url: str) -> bytes:
    """The certificate as an A4 PDF in the current language; `verify_url` is what its QR code opens."""
    c = issued.certificate
    buffer = io.BytesIO()
    title = _("Certificate of volunteer service")
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN,
        title=f"{title} {c.number}",
        author=issuer,
        subject=title,
        creator="Linli",
    )
    body = ngettext(
        "This certifies that volunteer %(name)s (volunteer no. %(volunteer)s) has served %(num)s confirmed volunteer "
        "service, %(hours)s in total, as recorded below.",
        "This certifies that volunteer %(name)s (volunteer no. %(volunteer)s) has served %(num)s confirmed volunteer "
        "services, %(hours)s in total, as recorded below.",
        c.records,
    ) % {"name": c.volunteer_name, "volunteer": c.volunteer_number, "num": c.records, "hours": hours(c.minutes)}
    story: list[Flowable] = [
        _p(title, _TITLE),
        _p(_("Certificate no. %(number)s") % {"number": c.number}, _NUMBER),
        _p(body, _BODY),
        _fields(issued, issuer),
        Spacer(1, 5 * mm),
        _records(issued),
        _closing(issued, issuer, verify_url),
    ]
    document.build(story, canvasmaker=functools.partial(_NumberedCanvas, number=c.number))
    return buffer.getvalue()
