"""Catalogue benchmark: loading the Japanese catalogue and looking up the few dozen messages a run shows,
with incident.i18n.Catalogue (finds each message when asked) against the standard library's
GNUTranslations (decodes every entry first), measured in the same run, in fresh processes (a run loads
the catalogue once, cold) and in this one (best of many). Target: Catalogue at most 0.5x GNUTranslations.

    python bench/catalogue.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: one process: load the catalogue with the class named in argv[1], look up 40 messages, print the time taken
CHILD = """
import gettext, os, sys, time
start = time.perf_counter()
from incident import i18n
path = os.path.join(i18n.LOCALE_DIR, "ja", "LC_MESSAGES", "incident.mo")
cls = i18n.Catalogue if sys.argv[1] == "lazy" else gettext.GNUTranslations
with open(path, "rb") as f:
    catalogue = cls(f)
for message in sys.argv[2:]:
    catalogue.gettext(message)
print(time.perf_counter() - start)
"""


def messages(count: int) -> list[str]:
    """`count` messages of the catalogue, spread over it."""
    import gettext

    sys.path.insert(0, str(REPO))
    from incident import i18n

    with open(os.path.join(i18n.LOCALE_DIR, "ja", "LC_MESSAGES", "incident.mo"), "rb") as f:
        ids = sorted(k for k in gettext.GNUTranslations(f)._catalog if isinstance(k, str) and k)  # type: ignore[attr-defined]
    return ids[:: max(1, len(ids) // count)][:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    sample = messages(40)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    best = {"lazy": float("inf"), "full": float("inf")}
    for _ in range(args.runs):  # the two take turns, so a change in the machine's load touches both
        for kind in ("lazy", "full"):
            out = subprocess.run([sys.executable, "-c", CHILD, kind, *sample], env=env, capture_output=True,
                                 text=True, check=True).stdout
            best[kind] = min(best[kind], float(out))
    ratio = best["lazy"] / best["full"]
    print(f"fresh process, import i18n + load + 40 look-ups, best of {args.runs}:")
    print(f"  GNUTranslations  {best['full'] * 1000:6.2f} ms")
    print(f"  Catalogue        {best['lazy'] * 1000:6.2f} ms   {ratio:4.2f}x (target <= 0.50x: "
          f"{'met' if ratio <= 0.5 else 'NOT MET'})")


if __name__ == "__main__":
    main()
