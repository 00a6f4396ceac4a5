"""Benchmark: `incident report annual` over 10,000 stored incidents (target: under 1 s).

Builds a store in a temporary directory by writing the incident files directly (no audit entries),
runs the report once to build the store's index (the cold run, as after a bulk import), then times the
report as an officer runs it: records from the index, the report, and its Markdown and JSON renderings.
Prints the figures and the ratio to the 1 s target. Run: `python bench/report.py [N]`.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from incident.followup.reports import Period, annual_report, render
from incident.law.taxonomy import load_taxonomy
from incident.law.vocabulary import init_store, open_store
from incident.register import enums
from incident.register import record as rec
from incident.register.store import Store

TARGET_SECONDS = 1.0
DEPARTMENTS = ("総務課", "保育課", "子育て支援課", "都市農業課", "健康推進課", "道路公園課", "地域振興課", "教育指導課")


def build_store(root: Path, count: int, seed: int = 2023) -> Store:
    """A store with `count` incidents spread over fiscal years 2022–2024, written as files."""
    rng = random.Random(seed)
    store = init_store(root)
    taxonomy = load_taxonomy()
    types, causes = list(taxonomy.types), list(taxonomy.causes)
    tz = ZoneInfo("Asia/Tokyo")
    start = datetime(2022, 4, 1, 9, 0, tzinfo=tz)
    numbers: dict[int, int] = {}
    for _ in range(count):
        occurred = start + timedelta(minutes=rng.randrange(3 * 365 * 24 * 60))
        discovered = occurred + timedelta(hours=rng.randrange(72))
        year = discovered.year
        numbers[year] = numbers.get(year, 0) + 1
        facts = {
            "id": f"{year}-{numbers[year]:04d}", "status": rng.choice(enums.STATUSES), "created_at": discovered,
            "title": "メール誤送信", "entity": "public-body", "department": rng.choice(DEPARTMENTS),
            "handled_by": rng.choice(enums.HANDLED_BY), "type": rng.choice(types), "event": "leak",
            "occurred_at": occurred, "discovered_at": discovered,
            "summary": "イベント参加者にメールを一斉送信する際、他のアドレスが見える状態で送信",
            "cause": "メール送信時のダブルチェックが不十分であったため", "cause_category": rng.choice(causes),
            "persons": rng.randrange(1, 2000),
        }
        record = rec.Record(facts=facts, data=(rec.DataEntry("name"), rec.DataEntry("email-address")))
        (store.incidents_dir / f"{facts['id']}.toml").write_text(rec.dumps(record), encoding="utf-8")
    return open_store(root)


def run_report(store: Store) -> tuple[int, int]:
    report = annual_report(store.records(), load_taxonomy(store.extra_dirs()), Period.fiscal_year(2023), tz=store.tz)
    md = render(report, "md")
    js = render(report, "json")
    return report.totals.incidents, len(md) + len(js)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        store = build_store(Path(tmp) / "store", count)
        built = time.perf_counter() - began
        began = time.perf_counter()
        run_report(open_store(store.root))
        cold = time.perf_counter() - began
        timings = []
        for _ in range(3):
            began = time.perf_counter()
            rows, size = run_report(open_store(store.root))
            timings.append(time.perf_counter() - began)
        warm = min(timings)
    print(f"stored incidents: {count:,} (written in {built:.2f} s)")
    print(f"annual report FY2023: {rows:,} rows, {size:,} characters of Markdown + JSON")
    print(f"cold (first run, builds the index): {cold:.3f} s")
    print(f"warm (best of 3): {warm:.3f} s — {warm / TARGET_SECONDS:.2f} × the {TARGET_SECONDS:.0f} s target "
          f"({'met' if warm <= TARGET_SECONDS else 'missed'})")


if __name__ == "__main__":
    main()
