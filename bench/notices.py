"""Benchmark of the notices stage; prints the figures (not part of the test suite).

    python bench/notices.py [--rows 100000] [--memory-rows 1000000] [--emails 10000]

1. A 100,000-row roster rendered to individual letters (`--out`, txt) by the mail merge, as a ratio to a
   bare Jinja2 render loop of the same template over the same rows held in memory (target >= 0.5).
2. Peak memory (max RSS of a fresh process) of the mail merge of a 1,000,000-row roster (target < 200 MB);
   `--memory-rows 0` skips it (it takes a few minutes), a smaller number measures that many rows.
3. 10,000 e-mails sent to a local aiosmtpd server through an approved batch (target >= 200 per second).
"""

from __future__ import annotations

import argparse
import csv
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from incident.config import Config, SmtpConfig
from incident.mailmerge import mail_merge
from incident.notices import Renderer, Settings, person_context
from incident.record import from_mapping
from incident.roster import Person, import_csv, iter_people

KEY = bytes(range(32))
FAMILY = ["山田", "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "中村", "小林", "加藤"]
GIVEN = ["太郎", "花子", "一郎", "次郎", "美咲", "健", "陽子", "大輔", "翔", "由美"]
RECORD: dict[str, Any] = {
    "id": "2024-0001", "title": "会員情報を含むメールの誤送信", "entity": "business", "type": "misdirected-email",
    "event": "leak", "discovered_at": "2024-06-03T15:00:00+09:00", "occurred_at": "2024-06-03T10:00:00+09:00",
    "summary": "会員向けメールを誤った宛先設定で送信した。", "cause": "送信前の確認が不十分",
    "secondary_harm": "現時点で確認されていない", "advice_to_individuals": "不審なメールにご注意ください。",
    "persons": 1_000_000, "data": [{"item": "name"}, {"item": "email-address"}, {"item": "address"}],
}
CONFIG = Config(organization="ベンチマーク株式会社", contact="お客様窓口 0120-000-000",
                smtp=SmtpConfig(host="127.0.0.1", security="none", from_addr="privacy@example.jp"))


def write_roster(csv_path: Path, rows: int) -> None:
    with open(csv_path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["氏名", "メールアドレス", "住所", "郵便番号"])
        for i in range(rows):
            writer.writerow([f"{FAMILY[i % 10]} {GIVEN[(i // 10) % 10]}{i}", f"user{i}@example.jp",
                             f"東京都千代田区千代田{i % 9 + 1}-{i % 50 + 1}-{i}", f"{100 + i % 900:03d}-{i % 10000:04d}"])


def renderer(kind: str = "individual-letter") -> Renderer:
    from incident.dates import now

    record = from_mapping(RECORD, vocab=None)
    return Renderer(Settings(CONFIG), record, kind, "ja", "txt", now=now())


def roster(work: Path, rows: int) -> Path:
    csv_path, dest = work / f"roster-{rows}.csv", work / f"roster-{rows}.roster"
    write_roster(csv_path, rows)
    import_csv(csv_path, dest, KEY)
    csv_path.unlink()
    return dest


def bench_render(work: Path, rows: int) -> None:
    import jinja2

    from incident.resources import builtin_dir

    path = roster(work, rows)
    notice = renderer()
    start = time.perf_counter()
    result = mail_merge(notice, iter_people(path, KEY), out_dir=work / "letters")
    ours = time.perf_counter() - start
    people: list[Person] = list(iter_people(path, KEY))
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(builtin_dir("templates") / "notices" / "ja")),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    template = env.get_template("individual-letter.j2")
    start = time.perf_counter()
    for person in people:
        template.render({**notice.base, "person": person_context(person)})
    bare = time.perf_counter() - start
    start = time.perf_counter()
    for person in people:
        notice.render(person)
    cpu = time.perf_counter() - start
    print(f"render: {result.count:,} letters via mail merge (--out, txt) in {ours:.2f} s "
          f"({result.count / ours:,.0f}/s); bare Jinja2 loop {bare:.2f} s ({rows / bare:,.0f}/s); "
          f"ratio {bare / ours:.2f} (target >= 0.5)")
    print(f"        without the file writes (Renderer.render over the same rows): {cpu:.2f} s, "
          f"ratio {bare / cpu:.2f}; the rest is creating {rows:,} files on this disk")


def memory_child(work: Path, rows: int) -> None:
    path = roster(work, rows)
    result = mail_merge(renderer(), iter_people(path, KEY), out_dir=work / "million")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{result.count} {peak_mb:.1f}")


def bench_memory(work: Path, rows: int) -> None:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--memory-child", str(rows), "--work", str(work)],
                         check=True, capture_output=True, text=True).stdout.split()
    count, peak = int(out[0]), float(out[1])
    print(f"memory: {count:,} rows imported and rendered in {time.perf_counter() - start:.0f} s; "
          f"peak RSS {peak:.0f} MB (target < 200 MB)")


def bench_email(work: Path, count: int) -> None:
    from smtp_server import SmtpTestServer

    from incident.batch import OutgoingMessage, approve_batch, prepare_batch
    from incident.delivery import SmtpSettings, send_batch

    path = roster(work, count)
    notice = renderer("individual-email")
    batch = work / "batch"

    def messages() -> Any:
        for person in iter_people(path, KEY):
            rendered = notice.render(person)
            yield OutgoingMessage(person.key, person.email, person.name, rendered.subject, rendered.text)

    prepare_batch(batch, "2024-0001", messages(), "alice", key=KEY)
    approve_batch(batch, "bob")
    with SmtpTestServer() as server:
        settings = SmtpSettings(host=server.host, port=server.port, security="none", user=None,
                                from_addr="privacy@example.jp", from_name="ベンチマーク株式会社")
        start = time.perf_counter()
        report = send_batch(batch, settings, None, key=KEY)
        elapsed = time.perf_counter() - start
        received = len(server.received)
    print(f"send: {report.sent:,} e-mails ({received:,} received) in {elapsed:.2f} s: "
          f"{report.sent / elapsed:,.0f} per second (target >= 200)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--memory-rows", type=int, default=1_000_000)
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.work, args.memory_child)
        return
    with tempfile.TemporaryDirectory(prefix="incident-bench-") as tmp:
        work = Path(tmp)
        if args.rows:
            bench_render(work, args.rows)
        if args.emails:
            bench_email(work, args.emails)
        if args.memory_rows:
            bench_memory(work, args.memory_rows)


if __name__ == "__main__":
    main()
