"""Start-up benchmark: `incident --help` against `python -c "import click"`, and `incident list` over
1,000 stored incidents against `incident --help`, measured in the same run. Targets: --help at most 1.25x
`import click`; list at most 1.5x --help. Each figure is the best of its runs (the least disturbed by
other work on the machine); the median is printed beside it.

    python bench/startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: one incident of the kind the register holds most (an e-mail sent with every address visible)
SAMPLE = """
title = "説明会の案内メールを宛先を表示したまま一斉送信"
entity = "business"
type = "misdirected-email"
event = "leak"
certainty = "confirmed"
occurred_at = 2024-06-03T09:30:00+09:00
discovered_at = 2024-06-03T11:00:00+09:00
summary = "説明会の参加者36名にTOで一斉送信し、互いのメールアドレスが見える状態になった"
cause = "BCCに入れるべきアドレスをTOに入力した"
cause_category = "double-check"
department = "総務課"
persons = 36

[[data]]
item = "email-address"
"""


def timings(cmd: list[str], runs: int, env: dict[str, str]) -> tuple[float, float]:
    """(best, median) wall time of `runs` runs."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def build_store(root: Path, count: int) -> None:
    sys.path.insert(0, str(REPO))
    from incident.law.vocabulary import init_store
    from incident.register.record import dumps, from_mapping

    store = init_store(root)
    base = from_mapping(tomllib.loads(SAMPLE), vocab=store.vocabulary)
    for n in range(count):
        record = base.with_facts(id=f"2024-{n + 1:04d}", status="open", title=f"サンプル {n}", persons=n)
        (store.incidents_dir / f"{record.id}.toml").write_text(dumps(record), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--incidents", type=int, default=1000)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        build_store(store, args.incidents)
        env = {**os.environ, "INCIDENT_HOME": str(store), "PYTHONPATH": str(REPO)}
        # measure what an installed copy does: byte-code cached (a wheel install compiles it)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([py, "-m", "incident", "--help"], env=env, stdout=subprocess.DEVNULL, check=True)
        subprocess.run([py, "-m", "incident", "list"], env=env, stdout=subprocess.DEVNULL, check=True)  # warm index
        click_only = timings([py, "-c", "import click"], args.runs, env)
        helps = timings([py, "-m", "incident", "--help"], args.runs, env)
        env_ja = {**env, "INCIDENT_LANG": "ja"}
        helps_ja = timings([py, "-m", "incident", "--help"], args.runs, env_ja)
        lists = timings([py, "-m", "incident", "list"], max(5, args.runs // 3), env)
        (store / "index.json").unlink()
        cold = timings([py, "-m", "incident", "list"], 1, env)
    ms = lambda t: f"{t[0] * 1000:7.1f} ms (median {t[1] * 1000:6.1f})"
    print(f"python -c 'import click'   {ms(click_only)}")
    print(f"incident --help            {ms(helps)}   {helps[0] / click_only[0]:5.2f}x import click "
          "(target <= 1.25x)")
    print(f"incident --help (ja)       {ms(helps_ja)}   {helps_ja[0] / click_only[0]:5.2f}x import click")
    print(f"incident list ({args.incidents} inc.)  {ms(lists)}   {lists[0] / helps[0]:5.2f}x incident --help "
          "(target <= 1.5x)")
    print(f"incident list, no index    {cold[0] * 1000:7.1f} ms   (first run after the index is removed)")

if __name__ == "__main__":
    main()
