"""Benchmark of `incident roster import` from an Excel workbook; prints the figures (not part of the suite).

    python bench/roster_xlsx.py [--rows 100000 1000000] [--openpyxl]

For each `--rows` count, a workbook of that many people (postal codes and telephone numbers stored as
numbers, as Excel keeps them when typed; every name and address distinct) is written twice: with its
text in the shared-strings table, as Excel saves it, and with inline strings. Each is imported into an
encrypted roster in a fresh process, which reports its peak RSS; the same people as a CSV are imported
too, as the baseline. `--openpyxl` also reads each workbook with openpyxl's read-only mode (rows only,
no import), the reader the import used before: it streams the rows but holds the whole shared-strings
table (every distinct text of the file) in memory.

One run on the development machine (2 cores shared with other work, so the times are loose; peak RSS is
what this measures), 1,000,000 people, every name and address distinct (2,000,000 shared strings):

    CSV import (baseline)                    72 MB
    workbook import, shared strings          80 MB   (93 MB while openpyxl was still imported for formats)
    workbook import, inline strings          79 MB   (94 MB likewise)
    openpyxl read-only, rows only, shared   461 MB   (the reader the import used before)
    openpyxl read-only, rows only, inline   131 MB

and the reader alone (incident.notices.rosterxlsx.XlsxTable over the shared-strings workbook) at 36 MB
from the first row to the millionth, 33 MB of it the interpreter and imports.
"""

from __future__ import annotations

import argparse
import csv
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

KEY = bytes(range(32))


def write_files(work: Path, rows: int, inline: bool) -> tuple[Path, Path]:
    import xlsxwriter

    xlsx, csv_path = work / f"people-{'inline' if inline else 'shared'}.xlsx", work / "people.csv"
    book = xlsxwriter.Workbook(str(xlsx), {"constant_memory": inline})
    sheet = book.add_worksheet("名簿")
    header = ["氏名", "郵便番号", "住所", "電話番号"]
    sheet.write_row(0, 0, header)
    with open(csv_path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for i in range(rows):
            row = [f"山田 太郎{i}", 600001 + i % 900000, f"北海道札幌市中央区北{i % 30 + 1}条西{i % 20 + 1}丁目{i}",
                   9012345678 + i]
            sheet.write_row(i + 1, 0, row)
            writer.writerow([row[0], f"{row[1]:07d}", row[2], f"0{row[3]}"])
    book.close()
    return xlsx, csv_path


def child(path: str, dest: str) -> None:
    from incident.notices.roster import import_csv, import_xlsx

    start = time.perf_counter()
    src = Path(path)
    if dest == "openpyxl":
        from openpyxl import load_workbook

        book = load_workbook(src, read_only=True)
        count = sum(1 for _row in book.worksheets[0].iter_rows()) - 1
        book.close()
        print(count, f"{time.perf_counter() - start:.2f}", f"{peak_mb():.0f}")
        return
    if src.suffix == ".xlsx":
        result = import_xlsx(src, Path(dest), KEY)
    else:
        result = import_csv(src, Path(dest), KEY)
    elapsed = time.perf_counter() - start
    print(result.count, f"{elapsed:.2f}", f"{peak_mb():.0f}")


def peak_mb() -> float:
    """This process's peak RSS: VmHWM (reset by exec, unlike ru_maxrss, which a child started from a
    large parent may inherit), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(src: Path, work: Path, dest: str = "") -> tuple[int, float, float]:
    out = subprocess.run([sys.executable, __file__, "--child", str(src), dest or str(work / f"{src.stem}.roster")],
                         check=True, capture_output=True, text=True).stdout.split()
    return int(out[0]), float(out[1]), float(out[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--openpyxl", action="store_true", help="also read each workbook with openpyxl")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            shared, csv_path = write_files(work, rows, inline=False)
            inline, _csv = write_files(work, rows, inline=True)
            runs = [("CSV (baseline)", csv_path, ""), ("xlsx shared", shared, ""), ("xlsx inline", inline, "")]
            if args.openpyxl:
                runs += [("openpyxl shared", shared, "openpyxl"), ("openpyxl inline", inline, "openpyxl")]
            base = 0.0
            for label, src, dest in runs:
                count, elapsed, peak = measure(src, work, dest)
                base = base or peak
                print(f"{label:<16} {count:>9,} rows in {elapsed:7.2f} s ({count / elapsed:>7,.0f} rows/s); "
                      f"peak RSS {peak:4.0f} MB ({peak / base:.2f} x CSV)", flush=True)


if __name__ == "__main__":
    main()
