"""A batch of e-mails stays small (its frames are compressed before encryption) and reads back exactly."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
from test_notices import make, org_store  # noqa: F401  (a fixture)

from incident.errors import InputError
from incident.notices import rosterfile, sealed
from incident.notices.batch import MESSAGES, approve_batch, open_approved, prepare_batch
from incident.notices.mailmerge import email_messages
from incident.notices.render import Renderer, Settings
from incident.notices.roster import import_csv, iter_people
from incident.register.store import Store

KEY = bytes(range(32))


def test_a_batch_is_smaller_than_twice_the_encrypted_roster(org_store: Store, tmp_path: Path) -> None:  # noqa: F811
    src = tmp_path / "people.csv"
    src.write_text("氏名,メールアドレス,住所\n" + "".join(
        f"山田 太郎{i},user{i}@example.jp,東京都千代田区千代田{i}-1\n" for i in range(3000)), encoding="utf-8")
    roster = tmp_path / "r.roster"
    import_csv(src, roster, KEY)
    record = org_store.load(make(org_store))
    renderer = Renderer(Settings(org_store.config), record, "individual-email")
    batch = tmp_path / "batch"
    prepare_batch(batch, record.id, email_messages(renderer, iter_people(roster, KEY), {}), "alice", key=KEY)
    approve_batch(batch, "bob")
    size, plain = (batch / MESSAGES).stat().st_size, 0
    full = Renderer(Settings(org_store.config), record, "individual-email", stamp=False)
    with open_approved(batch, KEY, resume=False, dry_run=True) as opened:
        for message, person in zip(opened.messages, iter_people(roster, KEY), strict=True):
            expected = full.render(person)
            assert (message.recipient_key, message.to_addr, message.subject, message.body) == (
                person.key, person.email, expected.subject, expected.text)
            plain += len(message.body.encode())
    assert size <= 2 * roster.stat().st_size
    assert size * 10 < plain  # compressed


def test_compressed_frames_are_refused_where_the_format_has_none() -> None:
    out = io.BytesIO()
    writer = sealed.SealedWriter(out, KEY, dataclasses.replace(rosterfile.FORMAT, compress=True), {"extras": []})
    writer.add(["p000001", 2, "山田", "", "", "", "", ""], 2)
    writer.finish()
    out.seek(0)
    reader = sealed.SealedReader(out, KEY, rosterfile.FORMAT, Path("x.roster"))
    with pytest.raises(InputError, match="frame kind 3"):
        list(reader.rows())
