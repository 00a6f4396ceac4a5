"""Benchmark: load and assess 10,000 incident records, as `incident deadlines` does over a store.

Generates varied record files (entities, items, persons, malice, encryption, GDPR, My Number) in a
temporary directory, then times, in one process: loading the playbooks, catalogue and taxonomies,
reading and validating every record file, and assessing each one. Prints the figures and the ratio
to the 2 s target. Then the same incidents in a store, through `collect_open` as `incident deadlines`
runs it: once building the store's index, then with the index warm (the best of three runs, all printed:
other processes on the machine make single runs noisy).

    python bench/assess.py [--count N]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import tomli_w

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_S = 2.0
JST = timezone(timedelta(hours=9))
ITEMS = ["name", "address", "phone", "email-address", "birth-date", "medical-history", "health-check-results",
         "credit-card-number", "card-last4-expiry", "bank-account-number", "my-number", "disability", "氏名",
         "メールアドレス", "クレジットカード番号"]
TYPES = ["misdirected-email", "misdirected-mail", "loss", "theft", "unauthorized-access", "ransomware",
         "wrong-handover", "misconfiguration"]


def make_records(folder: Path, count: int, seed: int = 7) -> list[Path]:
    rng = random.Random(seed)
    paths = []
    for n in range(count):
        discovered = datetime(2023, 1, 1, 9, tzinfo=JST) + timedelta(hours=rng.randrange(0, 24 * 900))
        raw: dict[str, object] = {
            "schema": 1, "title": f"事案 {n}", "entity": rng.choice(["business", "business", "public-body", "council"]),
            "role": rng.choice(["controller", "controller", "entrustee"]), "type": rng.choice(TYPES),
            "event": "leak", "certainty": rng.choice(["confirmed", "suspected"]),
            "occurred_at": discovered - timedelta(hours=rng.randrange(0, 72)), "discovered_at": discovered,
            "summary": "概要。詳細は調査中。", "cause": "調査中", "department": "総務課",
        }
        if rng.random() < 0.9:
            raw["persons"] = rng.choice([1, 3, 36, 100, 101, 150, 999, 1000, 1001, 2500, rng.randrange(0, 5000)])
        if rng.random() < 0.8:
            raw["malicious"] = rng.choice(["none", "none", "suspected", "confirmed"])
        if rng.random() < 0.2:
            raw["subject_countries"] = rng.choice([["JP", "DE"], ["EU"], ["FR"]])
            if rng.random() < 0.7:
                raw["risk_level"] = rng.choice(["unlikely", "risk", "high"])
        if raw["role"] == "entrustee":
            raw["entruster"] = "株式会社サンプル商事"
        if rng.random() < 0.05:
            raw["recovered"] = True
        data = []
        for item in rng.sample(ITEMS, rng.randrange(1, 5)):
            entry: dict[str, object] = {"item": item}
            if rng.random() < 0.15:
                entry["encrypted"] = True
                entry["key_compromised"] = rng.random() < 0.3
            data.append(entry)
        raw["data"] = data
        path = folder / f"{n:05d}.toml"
        path.write_text(tomli_w.dumps(raw), encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "files"
        folder.mkdir()
        paths = make_records(folder, args.count)
        start = time.perf_counter()
        from incident.law.rules import AssessConfig, prepare
        from incident.law.vocabulary import load_vocabulary
        from incident.register.record import read_file

        vocab = load_vocabulary()
        assessor = prepare(AssessConfig())
        setup = time.perf_counter()
        records = [read_file(p, vocab=vocab) for p in paths]
        loaded = time.perf_counter()
        reportable = sum(1 for r in records if assessor.assess(r).reportable)
        done = time.perf_counter()

        # The same incidents in a store, assessed as `incident deadlines` does (through the store's index).
        from incident.law.context import resolve
        from incident.law.tracking import collect_open
        from incident.law.vocabulary import init_store, open_store

        store = init_store(Path(tmp) / "store")
        from incident.register import record as rec

        for n, record in enumerate(records):
            incident_id = f"2024-{n + 1:05d}"
            (store.incidents_dir / f"{incident_id}.toml").write_text(
                rec.dumps(record.with_facts(id=incident_id, status="open")), encoding="utf-8")
        cold_start = time.perf_counter()
        collect_open(resolve(store))
        cold = time.perf_counter() - cold_start
        runs = []
        for _ in range(3):
            warm_start = time.perf_counter()
            rows = collect_open(resolve(open_store(store.root)))
            runs.append(time.perf_counter() - warm_start)
        warm = min(runs)
    total = done - start
    print(f"incidents:            {args.count:,} ({reportable:,} reportable)")
    print(f"load playbooks:       {setup - start:.3f} s")
    print(f"read + validate TOML: {loaded - setup:.3f} s")
    print(f"assess:               {done - loaded:.3f} s ({(done - loaded) / args.count * 1e6:.1f} µs each)")
    print(f"files, end to end:    {total:.3f} s")
    print(f"incident deadlines, first run (builds the index): {cold:.3f} s")
    print(f"incident deadlines, index warm: {warm:.3f} s ({len(rows):,} open obligations; runs: "
          f"{', '.join(f'{r:.3f}' for r in runs)} s)")
    print(f"ratio to {TARGET_S:.0f} s target (deadlines, index warm): {warm / TARGET_S:.2f} "
          f"({'within' if warm <= TARGET_S else 'OVER'} target)")


if __name__ == "__main__":
    main()
