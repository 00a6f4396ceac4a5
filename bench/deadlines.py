"""Benchmark: `incident deadlines` as a table against `incident deadlines --json`, over 10,000 incidents.

Builds a store of varied incidents (the generator of bench/assess.py, discovered within the last weeks so
that obligations are open), warms its index, then runs both commands through the command line in one
process, alternating, and prints the best of three of each with the ratio table / JSON (target: at most 2).
Output goes to a pipe, as when an officer redirects it or a script reads it.

    python bench/deadlines.py [--count N] [--rounds R]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from assess import make_records  # bench/ is not a package: found through sys.path above

TARGET_RATIO = 2.0
JST = timezone(timedelta(hours=9))


def _run(args: list[str]) -> tuple[float, int]:
    """Seconds one command takes in this process, and the bytes it printed."""
    from incident.cli import cli

    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            cli.main(args=args, prog_name="incident", standalone_mode=False)
        except SystemExit as exc:
            if exc.code:
                raise RuntimeError(err.getvalue()) from None
    return time.perf_counter() - start, len(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("INCIDENT_KEY_FILE", str(Path(tmp) / "keys" / "roster.key"))
        from incident.law.vocabulary import init_store
        from incident.register import record as rec

        folder = Path(tmp) / "files"
        folder.mkdir()
        store = init_store(Path(tmp) / "store")
        now = datetime.now(JST)
        for n, path in enumerate(make_records(folder, args.count)):
            record = rec.read_file(path, vocab=store.vocabulary)
            shift = now - timedelta(days=20) - record.discovered_at  # recent: the obligations are open
            record = record.with_facts(id=f"2024-{n + 1:05d}", status="open",
                                       discovered_at=record.discovered_at + shift,
                                       occurred_at=record.get("occurred_at") and record.get("occurred_at") + shift,
                                       created_at=now)
            (store.incidents_dir / f"{record.id}.toml").write_text(rec.dumps(record), encoding="utf-8")
        base = ["--store", str(store.root)]
        _run([*base, "list", "--json"])  # the index, as an officer's store has it
        table_runs, json_runs = [], []
        for _ in range(args.rounds):
            seconds, table_bytes = _run([*base, "deadlines"])
            table_runs.append(seconds)
            seconds, json_bytes = _run([*base, "deadlines", "--json"])
            json_runs.append(seconds)
    table, as_json = min(table_runs), min(json_runs)
    print(f"incidents: {args.count:,}; table output {table_bytes:,} bytes, JSON {json_bytes:,} bytes")
    print(f"incident deadlines (table): {table:.2f} s (runs: {', '.join(f'{t:.2f}' for t in table_runs)})")
    print(f"incident deadlines --json:  {as_json:.2f} s (runs: {', '.join(f'{t:.2f}' for t in json_runs)})")
    print(f"ratio table / JSON: {table / as_json:.2f} (target at most {TARGET_RATIO:.0f})")


if __name__ == "__main__":
    main()
