"""Start-up benchmark: `incident --help` against `python -c "import click"`, and `incident list` over
1,000 stored incidents against `incident --help`, measured in the same run. Targets: --help at most 1.25x
`import click`; list at most 1.5x --help. Each figure is the best of its runs (the least disturbed by
other work on the machine); the median is printed beside it.

    python bench/startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
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


def timings(cmds: dict[str, tuple[list[str], dict[str, str]]], runs: int) -> dict[str, tuple[float, float]]:
    """(best, median) wall time of `runs` runs of each command, the commands taking turns in each round so
    that a change in the machine's load touches them all alike."""
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, (cmd, env) in cmds.items():
            start = time.perf_counter()
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times[name].append(time.perf_counter() - start)
    return {name: (min(t), statistics.median(t)) for name, t in times.items()}


def instructions(cmd: list[str], env: dict[str, str]) -> int:
    """Instructions executed by one run of `cmd` (callgrind)."""
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True).stderr
    match = re.search(r"Collected : (\d+)", out)
    if match is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{out}")
    return int(match.group(1))


def verdict(ratio: float, target: float | None) -> str:
    """`1.21x (target <= 1.25x: met)`."""
    if target is None:
        return f"{ratio:5.2f}x"
    return f"{ratio:5.2f}x (target <= {target:.2f}x: {'met' if ratio <= target else 'NOT MET'})"


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
    parser.add_argument("--runs", type=int, default=20, help="rounds of wall-clock runs (each command once a round)")
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--callgrind", action=argparse.BooleanOptionalAction, default=None,
                        help="also count instructions with valgrind (default: when valgrind is installed)")
    args = parser.parse_args()
    use_callgrind = shutil.which("valgrind") is not None if args.callgrind is None else args.callgrind
    py = sys.executable
    click_cmd = [py, "-c", "import click"]
    help_cmd = [py, "-m", "incident", "--help"]
    list_cmd = [py, "-m", "incident", "list"]
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        build_store(store, args.incidents)
        env = {**os.environ, "INCIDENT_HOME": str(store), "PYTHONPATH": str(REPO)}
        # measure what an installed copy does: byte-code cached (a wheel install compiles it)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.pop("INCIDENT_LANG", None)
        env_ja = {**env, "INCIDENT_LANG": "ja"}
        for warm_env in (env, env_ja):  # byte-code written, index built
            subprocess.run(help_cmd, env=warm_env, stdout=subprocess.DEVNULL, check=True)
            subprocess.run(list_cmd, env=warm_env, stdout=subprocess.DEVNULL, check=True)
        walls = timings({"click": (click_cmd, env), "help": (help_cmd, env), "help_ja": (help_cmd, env_ja),
                         "list": (list_cmd, env), "list_ja": (list_cmd, env_ja)}, args.runs)
        click_only, helps, helps_ja, lists, lists_ja = (walls[k] for k in ("click", "help", "help_ja", "list",
                                                                            "list_ja"))
        counts: dict[str, int] = {}
        if use_callgrind:
            counts = {"click": instructions(click_cmd, env), "help": instructions(help_cmd, env),
                      "help_ja": instructions(help_cmd, env_ja), "list": instructions(list_cmd, env),
                      "list_ja": instructions(list_cmd, env_ja)}
        (store / "index.json").unlink()
        (store / "list.json").unlink(missing_ok=True)  # the list's own cache, too: a cold list
        cold = timings({"list": (list_cmd, env)}, 1)["list"]
    ms = lambda t: f"{t[0] * 1000:7.1f} ms (median {t[1] * 1000:6.1f})"
    n = args.incidents
    print(f"wall clock, best of {args.runs} rounds:")
    print(f"  python -c 'import click'   {ms(click_only)}")
    print(f"  incident --help            {ms(helps)}   {verdict(helps[0] / click_only[0], 1.25)} of import click")
    print(f"  incident --help (ja)       {ms(helps_ja)}   {verdict(helps_ja[0] / click_only[0], 1.25)} of import click")
    print(f"  incident list ({n} inc.)  {ms(lists)}   {verdict(lists[0] / helps[0], 1.5)} of --help")
    print(f"  incident list (ja)         {ms(lists_ja)}   {verdict(lists_ja[0] / helps_ja[0], 1.5)} of --help (ja)")
    print(f"  incident list, no index    {cold[0] * 1000:7.1f} ms   (first run after index.json and list.json are removed)")
    if counts:
        mi = lambda key: f"{counts[key] / 1e6:7.1f} M instructions"
        print("instructions executed (callgrind, one run each):")
        print(f"  python -c 'import click'   {mi('click')}")
        print(f"  incident --help            {mi('help')}   {verdict(counts['help'] / counts['click'], 1.25)} "
              "of import click")
        print(f"  incident --help (ja)       {mi('help_ja')}   "
              f"{verdict(counts['help_ja'] / counts['click'], 1.25)} of import click")
        print(f"  incident list ({n} inc.)  {mi('list')}   {verdict(counts['list'] / counts['help'], 1.5)} "
              "of --help")
        print(f"  incident list (ja)         {mi('list_ja')}   "
              f"{verdict(counts['list_ja'] / counts['help_ja'], 1.5)} of --help (ja)")


if __name__ == "__main__":
    main()
