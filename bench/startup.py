"""Start-up benchmark: `incident --help` and `incident list` over 1,000 stored incidents, as ratios to
`python -c pass` measured in the same run. Targets: --help at most 4x; list under 0.3 s.

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
EXAMPLE = REPO.parent / "shared" / "domain" / "examples" / "01-email-cc-36.toml"


def median_time(cmd: list[str], runs: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def build_store(root: Path, count: int) -> None:
    sys.path.insert(0, str(REPO))
    from incident.register.record import from_mapping
    from incident.register.store import Store

    store = Store.init(root)
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8")) if EXAMPLE.exists() else None
    assert raw is not None, f"{EXAMPLE} is needed to build the sample store"
    base = from_mapping(raw, vocab=store.vocabulary)
    for n in range(count):
        record = base.with_facts(id=f"2024-{n + 1:04d}", status="open", title=f"サンプル {n}", persons=n)
        store._write(record)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--incidents", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        build_store(store, args.incidents)
        env = {**os.environ, "INCIDENT_HOME": str(store), "PYTHONPATH": str(REPO)}
        py = sys.executable
        subprocess.run([py, "-m", "incident", "list"], env=env, stdout=subprocess.DEVNULL, check=True)  # warm index
        base = median_time([py, "-c", "pass"], args.runs, env)
        helps = median_time([py, "-m", "incident", "--help"], args.runs, env)
        lists = median_time([py, "-m", "incident", "list"], max(5, args.runs // 3), env)
        cold_env = dict(env)
        (store / "index.json").unlink()
        cold = median_time([py, "-m", "incident", "list"], 1, cold_env)
    print(f"python -c pass           {base * 1000:8.1f} ms")
    print(f"incident --help          {helps * 1000:8.1f} ms   {helps / base:5.2f}x python -c pass (target <= 4x)")
    print(f"incident list ({args.incidents} inc.) {lists * 1000:8.1f} ms   {lists / base:5.2f}x python -c pass "
          f"(target < 300 ms: {'met' if lists < 0.3 else 'NOT met'})")
    print(f"incident list, no index  {cold * 1000:8.1f} ms   (first run after the index is removed)")


if __name__ == "__main__":
    main()
