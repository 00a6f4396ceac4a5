"""Benchmark of the text clean-ups that meet hostile input; prints the figures (not part of the test suite).

    python bench/text.py [--size 1000000]

`tidy` (the notice's plain-text tidying, given a summary of blanks with no line end after them) and
`redact_addresses` (applied to every SMTP error, given a reply of address characters with no @) are
timed on an input of `--size` characters and on one ten times smaller. A linear expression scales by
about 10 (target: ratio <= 20); the former quadratic ones scaled by about 100 (a 60,000-space summary
took 11 s per notice, a 100 KB reply 62 s).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from incident.notices.batch import redact_addresses
from incident.notices.render import tidy


def best(job: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000)
    size = parser.parse_args().size
    cases: dict[str, Callable[[int], Callable[[], object]]] = {
        "tidy (blanks, no line end)": lambda n: lambda: tidy("概要" + " " * n + "x\n \n"),
        "redact_addresses (no @)": lambda n: lambda: redact_addresses("550 " + "x" * n),
        "redact_addresses (many @)": lambda n: lambda: redact_addresses("a@" * (n // 2)),
    }
    for name, make in cases.items():
        small, large = best(make(size // 10)), best(make(size))
        print(f"{name:<28} {size // 10:>9,} chars {small * 1000:8.2f} ms; {size:>10,} chars {large * 1000:8.2f} ms; "
              f"ratio {large / small:5.1f} (target <= 20; quadratic ~100)")


if __name__ == "__main__":
    main()
