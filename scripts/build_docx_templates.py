"""Build the bundled Word templates (templates/docx/*.docx) from this script, so that they can be
regenerated and reviewed as text: `python scripts/build_docx_templates.py [DIR]` rewrites them (or writes
them into DIR).

Each template is a docxtpl (Jinja2 in Word) document an officer can open and edit in Word: A4, the
margins of a Japanese business letter, 游明朝 10.5 pt. The context is that of
`incident.notices.docx`: `title`, `dateline`, `addressee`, `sender` (lists of lines) and `body`, a list
of paragraphs each with a `kind` (h, p, ul, kv, center, right) and its `text`. An organization copies a
file into its store's templates/docx/ and changes the letterhead, the fonts or the margins there.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

OUT = Path(__file__).resolve().parents[1] / "templates" / "docx"
FONT = "游明朝"
BODY_KINDS = (("h", None, True), ("center", WD_ALIGN_PARAGRAPH.CENTER, False),
              ("right", WD_ALIGN_PARAGRAPH.RIGHT, False), ("ul", None, False))


def _document():  # type: ignore[no-untyped-def]
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(25), Mm(20)
    style = doc.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(10.5)
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    style.paragraph_format.space_after = Pt(0)
    return doc


KEEP_STYLES = {"Normal", "DefaultParagraphFont", "TableNormal", "NoList", "TableGrid"}


def _slim(doc):  # type: ignore[no-untyped-def]
    """Leave out what python-docx's blank document carries and a letter never uses (hundreds of kB of
    styles, the styles-with-effects copy, the thumbnail): every letter of a mail merge opens and writes
    the template, so its size is most of the time per letter. Word fills in its defaults."""
    styles = doc.styles.element
    for latent in styles.findall(qn("w:latentStyles")):
        styles.remove(latent)
    for style in styles.findall(qn("w:style")):
        if style.get(qn("w:styleId")) not in KEEP_STYLES:
            styles.remove(style)
    for rel_id, rel in list(doc.part.rels.items()):
        if rel.reltype.endswith("/stylesWithEffects"):
            doc.part.drop_rel(rel_id)
    package_rels = doc.part.package.rels
    for rel_id, rel in list(package_rels.items()):
        if rel.reltype.endswith("/thumbnail"):
            package_rels.pop(rel_id)


def _para(doc, text, align=None, bold=False, size=None, indent=None):  # type: ignore[no-untyped-def]
    paragraph = doc.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    if indent is not None:
        paragraph.paragraph_format.left_indent = indent
    run = paragraph.add_run(text)
    run.bold = bold
    if size is not None:
        run.font.size = size
    return paragraph


def _lines(doc, name, align=None):  # type: ignore[no-untyped-def]
    _para(doc, "{%p for line in " + name + " %}")
    _para(doc, "{{ line }}", align)
    _para(doc, "{%p endfor %}")


def _body(doc):  # type: ignore[no-untyped-def]
    _para(doc, "{%p for b in body %}")
    first = True
    for kind, align, bold in BODY_KINDS:
        _para(doc, ("{%p if " if first else "{%p elif ") + f'b.kind == "{kind}" %}}')
        if kind == "ul":
            _para(doc, "・{{ b.text }}", indent=Mm(5))
        else:
            _para(doc, "{{ b.text }}", align, bold=bold)
        first = False
    _para(doc, "{%p else %}")
    _para(doc, "{{ b.text }}")
    _para(doc, "{%p endif %}")
    _para(doc, "{%p endfor %}")


def letter(out: Path) -> None:
    """A letter: 文書番号 and date top right, the addressee, the sender right, the title, the body."""
    doc = _document()
    _lines(doc, "dateline", WD_ALIGN_PARAGRAPH.RIGHT)
    _para(doc, "")
    _lines(doc, "addressee")
    _para(doc, "")
    _lines(doc, "sender", WD_ALIGN_PARAGRAPH.RIGHT)
    _para(doc, "")
    _para(doc, "{{ title }}", WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=Pt(14))
    _para(doc, "")
    _body(doc)
    doc.core_properties.title = "individual letter template"
    _slim(doc)
    doc.save(out / "letter.docx")


def report(out: Path) -> None:
    """A report or the PPC form's fields: the title, then the body (the form as a table of fields)."""
    doc = _document()
    _lines(doc, "dateline", WD_ALIGN_PARAGRAPH.RIGHT)
    _para(doc, "{{ title }}", WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=Pt(14))
    _para(doc, "")
    _body(doc)
    _para(doc, "{%p if fields %}")
    table = doc.add_table(rows=4, cols=3)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("項番", "欄", "記入内容"), strict=True):
        cell.text = text
    table.rows[1].cells[0].text = "{%tr for f in fields %}"  # docxtpl: this row becomes the loop's start
    cells = table.rows[2].cells
    cells[0].text = "{{ f.number }}"
    cells[1].text = "{{ f.label }}"
    cells[2].text = "{{ f.value }}"
    table.rows[3].cells[0].text = "{%tr endfor %}"
    _para(doc, "{%p endif %}")
    doc.core_properties.title = "report template"
    _slim(doc)
    doc.save(out / "report.docx")


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else OUT
    out.mkdir(parents=True, exist_ok=True)
    letter(out)
    report(out)
    print(f"wrote {out / 'letter.docx'} and {out / 'report.docx'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
