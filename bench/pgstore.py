"""Benchmark: the register on PostgreSQL against the file store, in one run.

1. `incident list --json` and `incident deadlines --json` over the same 10,000 incidents in a file store
   and in a PostgreSQL register, through the command line in one process, alternating, best of three;
   prints seconds and the ratio PostgreSQL / files (target: at most 1).
2. 8 client processes creating 1,000 incidents each in one register, at once: incidents per second and
   the p95 latency of one `new` (the core call `incident new` makes, in an open store).

The server is `$INCIDENT_TEST_DATABASE_URL` (a role that may create databases; default the local
postgres@127.0.0.1:5432); the benchmark creates its own database and drops it at the end.

    python bench/pgstore.py [--count N] [--rounds R] [--clients C (0: no concurrent part)] [--creates K]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from assess import make_records  # bench/ is not a package: found through sys.path above
from deadlines import _run  # one command timed in this process

JST = timezone(timedelta(hours=9))
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"

CLIENT = """
import json, sys, time, tomllib
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from incident.law.vocabulary import open_store
from incident.register import changes as register
store = open_store(Path(sys.argv[2]))
raw = tomllib.loads(Path(sys.argv[3]).read_text(encoding="utf-8"))
store.records()  # connected and the vocabulary loaded, as in a running `incident new`
latencies = []
for n in range(int(sys.argv[4])):
    start = time.perf_counter()
    register.new_incident(store, raw, actor="bench")
    latencies.append(time.perf_counter() - start)
print(json.dumps(latencies))
"""


def _records(tmp: Path, count: int, vocabulary: object) -> list[object]:
    from incident.register import record as rec

    folder = tmp / "generated"
    folder.mkdir()
    now = datetime.now(JST).replace(microsecond=0)
    out = []
    for n, path in enumerate(make_records(folder, count)):
        record = rec.read_file(path, vocab=vocabulary)  # type: ignore[arg-type]
        shift = now - timedelta(days=20) - record.discovered_at  # recent: the obligations are open
        out.append(record.with_facts(id=f"2024-{n + 1:05d}", status="open",
                                     discovered_at=record.discovered_at + shift,
                                     occurred_at=record.get("occurred_at") and record.get("occurred_at") + shift,
                                     created_at=now))
    return out


def _fill_database(store: object, records: list[object]) -> None:
    """The same records as rows, written by the store's own row writer, in one transaction."""
    from incident.register.pgstore import PgStore

    assert isinstance(store, PgStore)
    with store.conn.transaction(), store.conn.cursor() as cur:
        for record in records:
            store._write(cur, record, insert=True)  # type: ignore[arg-type]


def _compare(base_files: list[str], base_pg: list[str], command: list[str], rounds: int) -> tuple[float, float]:
    files, pg = [], []
    for _ in range(rounds):
        files.append(_run([*base_files, *command])[0])
        pg.append(_run([*base_pg, *command])[0])
    best_files, best_pg = min(files), min(pg)
    print(f"incident {' '.join(command)}: files {best_files:.2f} s, PostgreSQL {best_pg:.2f} s, "
          f"ratio {best_pg / best_files:.2f} (target at most 1; runs files "
          f"{', '.join(f'{t:.2f}' for t in files)}, PostgreSQL {', '.join(f'{t:.2f}' for t in pg)})")
    return best_files, best_pg


def _concurrent(store_dir: Path, clients: int, creates: int) -> None:
    case = REPO / "tests" / "cases" / "incidents" / "email-cc-36.toml"
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", CLIENT, str(REPO), str(store_dir), str(case), str(creates)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(clients)]
    latencies: list[float] = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode:
            raise RuntimeError(err.decode())
        latencies.extend(json.loads(out))
    elapsed = time.perf_counter() - start
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
    print(f"{clients} clients x {creates:,} creates: {len(latencies):,} incidents in {elapsed:.1f} s, "
          f"{len(latencies) / elapsed:.0f} incidents/s; one `new`: p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--creates", type=int, default=1_000)
    args = parser.parse_args()
    import psycopg

    server = os.environ.get("INCIDENT_TEST_DATABASE_URL", "").strip() or DEFAULT_SERVER
    name = f"incident_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = psycopg.connect(server, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"'.encode())
    params = psycopg.conninfo.conninfo_to_dict(server)
    url = f"postgresql://{params.get('user', 'postgres')}@{params.get('host', '127.0.0.1')}:" \
          f"{params.get('port', '5432')}/{name}"
    try:
        with tempfile.TemporaryDirectory() as tmp_text:
            tmp = Path(tmp_text)
            os.environ["INCIDENT_KEY_FILE"] = str(tmp / "keys" / "roster.key")
            os.environ.pop("INCIDENT_DATABASE_URL", None)
            from incident.law.vocabulary import init_store, open_store
            from incident.register import record as rec
            from incident.register.config import Config

            files = init_store(tmp / "files")
            records = _records(tmp, args.count, files.vocabulary)
            for record in records:
                (files.root / "incidents" / f"{record.id}.toml").write_text(  # type: ignore[attr-defined]
                    rec.dumps(record), encoding="utf-8")  # type: ignore[arg-type]
            init_store(tmp / "pg", Config(database_url=url))
            _fill_database(open_store(tmp / "pg"), records)
            base_files, base_pg = ["--store", str(files.root)], ["--store", str(tmp / "pg")]
            _run([*base_files, "list", "--json"])  # the file store's index, as an officer's store has it
            _run([*base_pg, "list", "--json"])
            print(f"incidents: {args.count:,}")
            _compare(base_files, base_pg, ["list", "--json"], args.rounds)
            _compare(base_files, base_pg, ["deadlines", "--json"], args.rounds)
            if not args.clients:
                return
            with psycopg.connect(url, autocommit=True) as conn:  # a register of its own for the writers
                conn.execute("CREATE SCHEMA busy")
            init_store(tmp / "busy", Config(database_url=f"{url}?options=-csearch_path%3Dbusy"))
            _concurrent(tmp / "busy", args.clients, args.creates)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
        admin.close()


if __name__ == "__main__":
    main()
