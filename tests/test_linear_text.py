"""Text clean-ups that meet hostile input (a 60,000-space summary, a 100 KB SMTP reply) stay linear.

The inputs are large enough that the former quadratic expressions would take minutes; the tests
assert the output only (the time bound is in bench/text.py)."""

from __future__ import annotations

from incident.notices.batch import redact_addresses
from incident.notices.render import tidy


def test_tidy_with_a_huge_run_of_blanks() -> None:
    blanks = " \t" * 500_000
    text = f"概要{blanks}まで\n本文{blanks}\n\n\n\n結び  \n"
    assert tidy(text) == f"概要{blanks}まで\n本文\n\n結び\n"


def test_tidy_keeps_what_needs_no_tidying() -> None:
    assert tidy("a\n\nb\n") == "a\n\nb\n"
    assert tidy("a \nb\t\t\n \n\n\n\nc   ") == "a\nb\n\nc   "


def test_redact_addresses_in_a_huge_hostile_reply() -> None:
    junk = "x" * 1_000_000
    reply = f"550 5.1.1 {junk} <user.name@example.jp>: unknown {'@' * 100_000} a@b\tend {junk}@"
    assert redact_addresses(reply) == (
        f"550 5.1.1 {junk} <address>: unknown {'@' * 100_000} <address>\tend {junk}@")


def test_redact_addresses_forms() -> None:
    assert redact_addresses("<a@example.jp> b@example.jp,c@x.jp a@b@c") == "<address> <address>@x.jp <address>@c"
    assert redact_addresses("no address here") == "no address here"
