"""`incident demo`: a register with realistic sample incidents, shown end to end.

The samples follow rows of a city's published table of personal-data mistakes (事務処理ミス).
Without `--store` they go to a demo store of their own, recreated on each run, so a real
register is never touched.
"""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from incident.cli.common import get_env, json_option, store_options
from incident.cli.reporting import RichReporter, reporter
from incident.cli.views import record_json
from incident.i18n import _

if TYPE_CHECKING:
    from incident.law.context import Context

SAMPLES: tuple[dict[str, Any], ...] = (
    {
        "title": "イベント参加者へのメール一斉送信で他の受信者のアドレスが見える状態",
        "entity": "public-body", "role": "controller", "department": "都市農業課", "handled_by": "委託事業者",
        "type": "misdirected-email", "event": "leak", "certainty": "confirmed",
        "summary": "委託事業者がイベント参加者にメールを一斉送信する際、宛先をBCCではなくTOに入力したため、"
                   "他の参加者のメールアドレスが見える状態で送信した（36名分）。",
        "cause": "メール送信時のダブルチェックが不十分であったため", "cause_category": "double-check",
        "malicious": "none", "published": False, "recovered": False,
        "secondary_harm": "現時点で二次被害は確認されていない", "persons": 36, "subject_countries": ["JP"],
        "found_by": "受信者からの問合せ",
        "data": [{"item": "氏名"}, {"item": "メールアドレス"}],
        "_hours_ago": (50, 47),
    },
    {
        "title": "児童のアレルギー情報が記載された調理室手配表の誤廃棄",
        "entity": "public-body", "role": "controller", "department": "保健給食課", "handled_by": "委託事業者",
        "type": "wrongful-disposal", "event": "loss", "certainty": "confirmed",
        "summary": "委託事業者が、保存期間中の調理室手配表（児童のアレルギー情報を記載）を他の廃棄文書とともに誤って廃棄した。",
        "cause": "文書の管理体制が不十分であったため", "cause_category": "document-management",
        "malicious": "none", "published": False, "recovered": False,
        "secondary_harm": "溶解処理済みであり、第三者による閲覧のおそれは低い", "persons": 24,
        "subject_countries": ["JP"], "found_by": "保健給食課職員",
        "data": [{"item": "氏名"}, {"item": "allergy-information"}],
        "_hours_ago": (30, 26),
    },
)


def _load_samples(store: Any, actor: str) -> list[str]:
    from incident.dates import now
    from incident.register.changes import add_event, new_incident

    ids = []
    moment = now(store.tz).replace(second=0, microsecond=0)
    for sample in SAMPLES:
        raw = {k: v for k, v in sample.items() if not k.startswith("_")}
        occurred_h, discovered_h = sample["_hours_ago"]
        raw["occurred_at"] = moment - timedelta(hours=occurred_h)
        raw["discovered_at"] = moment - timedelta(hours=discovered_h)
        record = new_incident(store, raw, actor=actor)
        add_event(store, record.id, "発覚：" + str(sample["found_by"]) + "により判明", actor=actor,
                  at=raw["discovered_at"], kind="note")
        ids.append(record.id)
    return ids


@click.command("demo")
@json_option
@store_options
def demo_cmd(as_json: bool) -> None:
    """Record sample incidents in a demo store and show the register, an incident and what the law asks."""
    from incident.law.vocabulary import init_store, open_store
    from incident.register.paths import demo_store_dir

    env = get_env()
    if env.store_opt:
        path = env.store_path
        store = open_store(path) if (path / "incidents").is_dir() else init_store(path, _demo_config(path))
    else:
        path = Path(demo_store_dir())
        if path.exists():
            shutil.rmtree(path)
        store = init_store(path, _demo_config(path))
    env.use_store(store)
    ids = _load_samples(store, env.actor())
    ctx = env.context()
    assessments = _assess_all(env, ctx, ids)
    reporter(as_json).result(
        lambda: {"store": str(path), "incidents": [record_json(store.load(i)) for i in ids], "assessments": assessments},
        lambda out: _show(out, ctx, path, ids))


def _show(out: RichReporter, ctx: Context, path: Path, ids: list[str]) -> None:
    """The tour for people: the register, each sample with its assessment and steps, deadlines, reminders."""
    from incident.cli.listing import print_list
    from incident.cli.register import show_extras
    from incident.cli.views import print_record

    store = ctx.store
    out.info(_("Demo store: {path} (use --store DIR to keep the samples elsewhere)").format(path=path))
    print_list(out, store.summaries())
    for incident_id in ids:
        record = store.load(incident_id)
        print_record(out, record, store.tz)
        show_extras(out, ctx, record)
    _show_deadlines(out, ctx)
    _show_reminders(out, ctx)


def _demo_config(path: Path) -> Any:
    """The demo store's settings. Where there is no OS keyring and no key file is named, the demo keeps
    its keys in a key file beside the demo store (mode 0600; the people in it are made up), so that
    `incident demo` runs on a fresh headless machine; a real store still needs INCIDENT_KEY_FILE there."""
    from incident.register.config import Config
    from incident.register.secrets import KEY_FILE_ENV, keyring_available

    key_file = "" if keyring_available() or os.environ.get(KEY_FILE_ENV) else str(path.parent / f"{path.name}.key")
    return Config(key_file=key_file, organization="サンプル市（デモ）", entity="public-body",
                  contact="サンプル市 総務部情報公開課 電話 03-0000-0000（平日9時〜17時）", actor="demo",
                  people={"privacy-desk": "privacy@city.example.jp", "都市農業課": "toshinogyo@city.example.jp",
                          "保健給食課": "kyushoku@city.example.jp"})


def _show_reminders(out: RichReporter, ctx: Context) -> None:
    """What `incident remind --send` would e-mail today (a dry run: nothing is sent)."""
    from incident.cli.remind import show_plan
    from incident.followup.remind import plan

    out.print(_("\n[bold]incident remind --dry-run[/] (run `incident remind --send` daily from cron or "
                "Task Scheduler):"))
    show_plan(out, ctx, plan(ctx))


def _assess_all(env: Any, ctx: Context, ids: list[str]) -> list[Any]:
    from incident.law.tracking import assess_and_save

    return [assess_and_save(ctx, i, actor=env.actor()) for i in ids]


def _show_deadlines(out: RichReporter, ctx: Context) -> None:
    from incident.cli.assess import print_deadlines

    print_deadlines(out, ctx)
