"""PDF letters for window envelopes: one A4 portrait page (or more) per person, in one print-run file.

Each letter's head is placed on the sheet: the addressee (〒, address, name 様) inside the envelope's
window (`[letter.window]` in config, by default a 長形3号 window envelope for a sheet folded in three),
the 文書番号 and date top right, the sender block right below the window's level; the title and body
flow underneath and onto further pages when long. Fold marks at 99 mm and 198 mm show where to fold.
The font is a subset-embedded TrueType font (incident.notices.pdffont). `test_sheet` prints the window
outline to hold against the office's own envelopes.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from incident.errors import InputError
from incident.fsutil import atomic_write_bytes
from incident.i18n import _
from incident.notices.layout import Block, Document, document
from incident.register.config import LetterConfig, WindowConfig

if TYPE_CHECKING:
    from reportlab.pdfgen.canvas import Canvas

    from incident.notices.render import Renderer
    from incident.notices.roster import Person

MM: Final = 72 / 25.4
PAGE_W, PAGE_H = 210 * MM, 297 * MM
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 20 * MM, 12 * MM, 15 * MM
FOLDS_MM: Final = (99.0, 198.0)
WINDOW_PADDING: Final = 3 * MM
SENDER_GAP: Final = 10 * MM
LINE_SPACING: Final = 1.35
"""Text keeps this far inside the window: the sheet moves a little in the envelope."""
BODY_SIZE, BODY_LEADING = 10.5, 15.5


@dataclass(frozen=True)
class PdfResult:
    count: int
    pages: int
    sha256: str
    path: str
    no_address: int


def _styles(font: str) -> dict[str, Any]:
    from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle("body", fontName=font, fontSize=BODY_SIZE, leading=BODY_LEADING, wordWrap="CJK",
                          alignment=TA_LEFT, spaceAfter=2)
    return {
        "p": base,
        "title": ParagraphStyle("title", parent=base, fontSize=14, leading=20, alignment=TA_CENTER,
                                spaceBefore=0, spaceAfter=8),
        "h": ParagraphStyle("h", parent=base, spaceBefore=5, spaceAfter=1),
        "ul": ParagraphStyle("ul", parent=base, leftIndent=2 * BODY_SIZE, firstLineIndent=-BODY_SIZE, spaceAfter=0),
        "kv": ParagraphStyle("kv", parent=base, spaceAfter=0),
        "center": ParagraphStyle("center", parent=base, alignment=TA_CENTER, spaceBefore=2, spaceAfter=2),
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT),
    }


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Break a line by characters to fit `width` (an address has no spaces to break at)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    if stringWidth(text, font, size) <= width:
        return [text]
    if "（" in text[1:]:  # 「△△ 様（○○ 様の保護者様）」: break before the parenthesis first
        at = text.index("（", 1)
        return [*_wrap(text[:at], font, size, width), *_wrap(text[at:], font, size, width)]
    lines: list[str] = []
    current = ""
    for char in text:
        if current and stringWidth(current + char, font, size) > width:
            lines.append(current)
            current = char
        else:
            current += char
    return [*lines, current] if current or not lines else lines


NAME_SCALE: Final = 1.15
"""The addressee's name (the last line) prints this much larger than the address."""


def fit_window(lines: tuple[str, ...], font: str, window: WindowConfig) -> tuple[float, list[tuple[str, float]]]:
    """The largest size from 12 pt down to 7 pt at which the addressee fits the window, with each line
    to print and its size (a line too wide is broken by characters; the name prints NAME_SCALE larger);
    raises when even 7 pt does not fit."""
    width = window.width * MM - 2 * WINDOW_PADDING
    height = window.height * MM - 2 * WINDOW_PADDING
    for tenth in range(120, 69, -5):
        size = tenth / 10
        wrapped = [(part, size * (NAME_SCALE if index == len(lines) - 1 else 1))
                   for index, line in enumerate(lines)
                   for part in _wrap(line, font, size * (NAME_SCALE if index == len(lines) - 1 else 1), width)]
        if sum(line_size for _text, line_size in wrapped) * LINE_SPACING + size * 0.4 <= height:
            return size, wrapped
    raise InputError(_("the addressee ({count} lines) does not fit the {width} x {height} mm window even at 7 pt; widen [letter.window] in config")
                     .format(count=len(lines), width=window.width, height=window.height), field="letter.window")


class Painter:
    """Draws on a ReportLab canvas, remembering what repeats.

    A print run repeats most of its text letter after letter (the body differs from one person to the
    next in a few lines): a paragraph or line seen a second time is drawn once into a form XObject and
    placed from then on, which keeps a 1,000-letter run fast and its file small. Paragraphs are broken
    by ReportLab's own CJK line breaking (禁則 included)."""

    REMEMBERED: Final = 20_000
    """Distinct texts remembered (memory stays flat over any roster)."""

    def __init__(self, canvas: Canvas, font: str) -> None:
        self.canvas, self.font = canvas, font
        self.styles = _styles(font)
        self._seen: dict[tuple[Any, ...], tuple[str, float] | None] = {}
        self._forms = 0

    def _place(self, key: tuple[Any, ...] | None, x: float, y: float, height: float,
               draw: Callable[[float, float], None]) -> None:
        """Draw with `draw(x, y)`, through a form when `key` was drawn before (None: never remembered)."""
        canvas = self.canvas
        if key is None:
            draw(x, y)
            return
        if key not in self._seen:
            if len(self._seen) < self.REMEMBERED:
                self._seen[key] = None
            draw(x, y)
            return
        known = self._seen[key]
        if known is None:
            self._forms += 1
            name = f"F{self._forms}"
            canvas.beginForm(name, lowerx=-PAGE_W, lowery=-PAGE_H, upperx=PAGE_W, uppery=PAGE_H)
            draw(0, 0)
            canvas.endForm()
            self._seen[key] = known = (name, height)
        canvas.saveState()
        canvas.translate(x, y)
        canvas.doForm(known[0])
        canvas.restoreState()

    def line(self, text: str, x: float, y: float, size: float, *, right: bool = False) -> None:
        """One line of text starting at x (or ending at x when `right`) on the baseline y."""
        def draw(dx: float, dy: float) -> None:
            self.canvas.setFont(self.font, size)
            (self.canvas.drawRightString if right else self.canvas.drawString)(dx, dy, text)

        self._place(("line", text, size, right), x, y, size, draw)

    def paragraph(self, kind: str, markup: str, width: float) -> tuple[float, Any]:
        """The wrapped paragraph of a block kind and its height."""
        from reportlab.platypus import Paragraph

        para = Paragraph(markup, self.styles[kind])
        _w, height = para.wrap(width, PAGE_H)
        return height, para

    def flow(self, kind: str, markup: str, page: Page) -> None:
        """Place a paragraph below the previous one, on a new page when it does not fit (split across
        pages by lines when it is taller than what is left)."""
        style = self.styles[kind]
        width = PAGE_W - 2 * MARGIN_X
        key: tuple[Any, ...] | None = (kind, markup)
        known = self._seen.get((kind, markup))
        para: Any = None
        if known:  # drawn before into a form: its height is known, nothing to wrap
            height = known[1]
        else:
            height, para = self.paragraph(kind, markup, width)
        if page.y < page.top:
            page.y -= style.spaceBefore
        while page.y - height < MARGIN_BOTTOM:
            if para is None:
                height, para = self.paragraph(kind, markup, width)
            parts = para.split(width, page.y - MARGIN_BOTTOM) if page.y < page.top else []
            if len(parts) == 2:
                first, para = parts
                _w, first_h = first.wrap(width, PAGE_H)
                first.drawOn(self.canvas, MARGIN_X, page.y - first_h)
                _w, height = para.wrap(width, PAGE_H)
                key = None  # the rest of a split paragraph is drawn as it is, never remembered
            elif page.y >= page.top:  # taller than a whole page and unsplittable: let it run over
                break
            else:
                _w, height = para.wrap(width, PAGE_H)  # a failed split leaves the paragraph unwrapped
            page.next()
        self._place(key, MARGIN_X, page.y - height, height, lambda x, y: para.drawOn(self.canvas, x, y))
        page.y -= height + style.spaceAfter


class Page:
    """Where the next paragraph goes; a new page carries the fold marks."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.top = PAGE_H - MARGIN_TOP
        self.y = self.top

    def start(self, y: float | None = None) -> None:
        fold_marks(self.canvas)
        self.y = self.top if y is None else y

    def next(self) -> None:
        self.canvas.showPage()
        self.start()


def draw_head(painter: Painter, doc: Document, window: WindowConfig) -> float:
    """The head of a letter at its fixed places; returns the y below it, where the title goes.

    The sender block goes right of the window when it fits there with a gap of SENDER_GAP (the sheet
    moves in the envelope, and nothing but the address may show through the window), else below the
    window. The body starts below the first fold at the earliest, so the address panel carries only
    the head."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    if not (doc.dateline or doc.addressee or doc.sender):  # a report, not a letter: the body from the top
        return PAGE_H - MARGIN_TOP
    size, address = fit_window(doc.addressee, painter.font, window) if doc.addressee else (11.0, [])
    right = PAGE_W - MARGIN_X
    y = PAGE_H - MARGIN_TOP - BODY_SIZE
    for line in doc.dateline:
        painter.line(line, right, y, BODY_SIZE, right=True)
        y -= BODY_LEADING
    y_line = PAGE_H - window.top * MM - WINDOW_PADDING
    x = window.left * MM + WINDOW_PADDING
    for index, (line, line_size) in enumerate(address):
        if index and line_size > size and address[index - 1][1] == size:
            y_line -= size * 0.4  # a little air above the name
        y_line -= line_size * LINE_SPACING
        painter.line(line, x, y_line + line_size * (LINE_SPACING - 1), line_size)
    widest = max((stringWidth(line, painter.font, BODY_SIZE) for line in doc.sender), default=0)
    window_bottom = PAGE_H - (window.top + window.height) * MM
    beside = right - widest >= (window.left + window.width) * MM + SENDER_GAP
    y = y - BODY_LEADING if beside else window_bottom - 6 * MM - BODY_SIZE
    for line in doc.sender:
        painter.line(line, right, y, BODY_SIZE, right=True)
        y -= BODY_LEADING
    return min(y, window_bottom - 4 * MM, PAGE_H - FOLDS_MM[0] * MM - 3 * MM)


def _markup(block: Block) -> Iterator[tuple[str, str]]:
    """(style, ReportLab paragraph markup) of each paragraph of a body block."""
    lines = [_escape(line) for line in block.lines]
    if block.kind == "ul":
        for line in lines:
            yield "ul", "・" + line
    elif block.kind == "kv":
        yield "kv", "：".join(lines[:2])
    elif block.kind in ("p", "center", "right", "title"):
        yield block.kind, "<br/>".join(lines)
    else:
        yield "h", "<br/>".join(lines)


def fold_marks(canvas: Canvas) -> None:
    canvas.saveState()
    canvas.setLineWidth(0.5)
    canvas.setStrokeGray(0.45)
    for fold in FOLDS_MM:
        y = PAGE_H - fold * MM
        canvas.line(0, y, 6 * MM, y)
        canvas.line(PAGE_W - 6 * MM, y, PAGE_W, y)
    canvas.restoreState()


def _canvas(buffer: io.BytesIO, title: str, author: str, font: str) -> Canvas:
    """A canvas whose every font is the embedded one (not even the Helvetica a canvas starts with)."""
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(buffer, pagesize=(PAGE_W, PAGE_H), invariant=1, pageCompression=1, initialFontName=font,
                    initialFontSize=BODY_SIZE, initialLeading=BODY_LEADING)
    canvas.setTitle(title)
    canvas.setAuthor(author)
    return canvas


def letters_pdf(renderer: Renderer, people: Iterable[Person | None], path: Path, *,
                progress: Callable[[int], None] | None = None) -> PdfResult:
    """Render one letter per person (None: one letter without an addressee) into one PDF at `path`,
    written atomically with mode 0600; every letter starts on a new page. The renderer must render the
    "print" format."""
    from incident.notices.pdffont import letter_font

    config = renderer.settings.config
    window = config.letter.window
    buffer = io.BytesIO()
    font = letter_font(config.pdf_font).name
    canvas = _canvas(buffer, renderer.spec.id, config.organization, font)
    painter = Painter(canvas, font)
    page = Page(canvas)
    count = no_address = 0
    for person in people:
        if count:
            canvas.showPage()
        count += 1
        if person is not None and not person.address:
            no_address += 1
        parts = document(renderer.render(person, number=count).text)
        page.start()
        page.y = draw_head(painter, parts, window)
        for kind, markup in _markup(Block("title", (parts.title,))):
            painter.flow(kind, markup, page)
        for block in parts.body:
            for kind, markup in _markup(block):
                painter.flow(kind, markup, page)
        if progress is not None and count % 100 == 0:
            progress(count)
    if not count:
        raise InputError(_("nobody to write a letter to: the roster is empty"), field="roster")
    pages = canvas.getPageNumber()
    canvas.showPage()
    canvas.save()
    data = buffer.getvalue()
    atomic_write_bytes(path, data)
    if progress is not None:
        progress(count)
    return PdfResult(count, pages, hashlib.sha256(data).hexdigest(), str(path), no_address)


def window_test_sheet(config_letter: LetterConfig, setting: str, path: Path) -> str:
    """One page with the window outline, its measurements and the fold marks, to hold against the
    office's envelopes before a print run; returns the file's SHA-256."""
    from incident.notices.pdffont import letter_font

    font = letter_font(setting).name
    window = config_letter.window
    buffer = io.BytesIO()
    canvas = _canvas(buffer, "test sheet", "", font)
    fold_marks(canvas)
    canvas.setDash(3, 2)
    canvas.rect(window.left * MM, PAGE_H - (window.top + window.height) * MM, window.width * MM, window.height * MM)
    canvas.setDash()
    sample = Document("", (), ("〒000-0000", "（住所）", "（氏名） 様"), (), ())
    draw_head(Painter(canvas, font), sample, window)
    canvas.setFont(font, 9)
    canvas.drawString(window.left * MM, PAGE_H - (window.top + window.height) * MM - 12,
                      f"[letter.window] top={window.top} left={window.left} width={window.width} "
                      f"height={window.height} (mm)")
    canvas.drawString(MARGIN_X, PAGE_H - 120 * MM, "この用紙を三つ折りにして窓付き封筒に入れ、点線の枠が窓の中に収まることを確かめてください。")
    canvas.drawString(MARGIN_X, PAGE_H - 126 * MM, "折り位置: 上から 99 mm と 198 mm（左右の余白の線）")
    canvas.showPage()
    canvas.save()
    data = buffer.getvalue()
    atomic_write_bytes(path, data)
    return hashlib.sha256(data).hexdigest()
