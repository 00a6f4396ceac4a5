"""Benchmark of printed documents; prints the figures (not part of the test suite).

    python bench/documents.py [--letters 1000] [--repeat 3]

1. A PDF print run of `--letters` letters (individual-letter, one per person, window-envelope layout,
   the Japanese font embedded as a subset) into one file, as `incident notice --roster --format pdf`
   writes it (target: under 3 s for 1,000 letters on the development machine). Printed with the time
   per letter and as a ratio to the baseline: rendering the same letters as plain text (the same
   Renderer, context and people, no layout), so the figure says what the layout and the PDF cost on
   top of the wording, whatever the machine's speed.

2. `--letters` Word letters (individual-letter, one .docx per person from the bundled template with
   docxtpl, written 0600 with fsync), as `incident notice --roster --format docx --out DIR` writes them
   (target: under 60 s for 1,000), per letter and against the same text baseline.

Each job is timed `--repeat` times, the order rotated each round; the best wall-clock and CPU time kept.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from notices import CONFIG, FAMILY, GIVEN, RECORD, best_of

from incident.dates import now
from incident.notices.render import Renderer, Settings
from incident.notices.roster import Person
from incident.register.record import from_mapping


def people(count: int) -> list[Person]:
    return [Person(f"p{i + 1:06d}", f"{FAMILY[i % 10]} {GIVEN[(i // 10) % 10]}{i}", "",
                   f"東京都千代田区千代田{i % 9 + 1}-{i % 50 + 1}-{i}", f"{100 + i % 900:03d}-{i % 10000:04d}",
                   "", "", {}, i + 2) for i in range(count)]


def renderer(fmt: str) -> Renderer:
    record = from_mapping(RECORD, vocab=None)
    return Renderer(Settings(CONFIG), record, "individual-letter", "ja", fmt, now=now(),  # type: ignore[arg-type]
                    doc_number="総第12-{n}号")


def report(label: str, letters: int, wall: float, cpu: float, base: tuple[float, float] | None = None) -> None:
    ratio = f"  {wall / base[0]:6.1f}x the text baseline (CPU {cpu / base[1]:.1f}x)" if base else ""
    print(f"{label:<34} {wall:7.2f} s wall  {cpu:7.2f} s CPU  {wall / letters * 1000:7.2f} ms per letter{ratio}")


def bench_pdf(work: Path, letters: int, repeat: int) -> None:
    from incident.notices.pdf import letters_pdf
    from incident.notices.pdffont import letter_font

    letter_font(CONFIG.pdf_font)  # found and parsed once, as in any run after the first letter
    rows = people(letters)
    text, printed = renderer("txt"), renderer("print")
    target = work / "letters.pdf"

    def render_text() -> None:
        for number, person in enumerate(rows, 1):
            text.render(person, number=number)

    best = best_of(repeat, {"text": render_text, "pdf": lambda: letters_pdf(printed, rows, target)}, lambda: None)
    print(f"{letters:,} letters, best of {repeat}; PDF {target.stat().st_size / 1e6:.1f} MB")
    report("baseline: render as text", letters, *best["text"])
    report("PDF print run (target < 3 s)", letters, *best["pdf"], base=best["text"])


def bench_docx(work: Path, letters: int, repeat: int) -> None:
    from incident.notices.docx import letters_docx

    rows = people(letters)
    text, printed = renderer("txt"), renderer("print")
    out = work / "docx"
    out.mkdir()

    def render_text() -> None:
        for number, person in enumerate(rows, 1):
            text.render(person, number=number)

    best = best_of(repeat, {"text": render_text, "docx": lambda: letters_docx(printed, rows, out)}, lambda: None)
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"{letters:,} Word letters, best of {repeat}; {size / 1e6:.1f} MB in {letters:,} files")
    report("baseline: render as text", letters, *best["text"])
    report("Word letters (target < 60 s)", letters, *best["docx"], base=best["text"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--letters", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        bench_pdf(Path(work), args.letters, args.repeat)
        bench_docx(Path(work), args.letters, args.repeat)


if __name__ == "__main__":
    main()
