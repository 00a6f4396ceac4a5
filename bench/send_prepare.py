"""Benchmark of `incident send --prepare` at scale; prints the figures (not part of the test suite).

    python bench/send_prepare.py [--rows 1000000] [--profile]

Imports a roster of `--rows` people (encrypted), then prepares the e-mail batch as `incident send ID
--prepare` does: each person's individual-email rendered, validated and sealed into the batch's
messages file, hashed. Prints the preparing time (target: under 60 s for 1,000,000 people), the sizes
of the encrypted roster and of the batch, and their ratio (target: the batch at most 2x the roster).
`--profile` prints the top of a cProfile of the preparing step.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from notices import KEY, renderer, write_roster

from incident.notices.batch import MESSAGES, prepare_batch
from incident.notices.mailmerge import email_messages
from incident.notices.roster import import_csv, iter_people


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="incident-bench-") as tmp:
        work = Path(tmp)
        csv_path, roster = work / "roster.csv", work / "roster.roster"
        start = time.perf_counter()
        write_roster(csv_path, args.rows)
        import_csv(csv_path, roster, KEY)
        csv_path.unlink()
        print(f"roster: {args.rows:,} people imported in {time.perf_counter() - start:.1f} s; "
              f"encrypted roster {roster.stat().st_size / 1e6:,.1f} MB")
        notice = renderer("individual-email")
        counts = {"no_email": 0}
        batch = work / "batch"

        def prepare() -> None:
            prepare_batch(batch, "2024-0001", email_messages(notice, iter_people(roster, KEY), counts), "alice",
                          key=KEY)

        cpu, start = os.times(), time.perf_counter()
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(prepare)
        else:
            prepare()
        wall, end = time.perf_counter() - start, os.times()
        size = (batch / MESSAGES).stat().st_size
        print(f"prepare: {args.rows:,} messages in {wall:.1f} s ({args.rows / wall:,.0f} per second; CPU "
              f"{end.user - cpu.user + end.system - cpu.system:.1f} s) (target: 1,000,000 in under 60 s)")
        print(f"prepare: batch {size / 1e6:,.1f} MB = {size / roster.stat().st_size:.2f} x the encrypted roster "
              "(target <= 2)")
        if args.profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
