"""A notice in print blocks: what the PDF and Word writers lay out.

A template rendered in the "print" format (`templates/notices/<lang>/_print.j2`) gives blocks, each
introduced by RS and made of its kind and lines separated by US. Here they are read back into the parts
of a letter: the head (文書番号 and date, the addressee that shows in the envelope's window, the sender)
and the body that flows below it. The wording stays in the templates; the layout stays in the writers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from incident.errors import InputError
from incident.i18n import _
from incident.notices.render import BLOCK_START, ITEM_SEPARATOR

HEAD_KINDS: Final = frozenset({"title", "dateline", "addressee", "sender"})
BODY_KINDS: Final = frozenset({"h", "p", "ul", "kv", "center", "right"})


@dataclass(frozen=True)
class Block:
    """One block of a printed notice: its kind (p, h, ul, kv, center, right …) and its lines."""

    kind: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Document:
    """A notice ready to lay out: the head's parts and the body's blocks in order."""

    title: str
    dateline: tuple[str, ...]
    addressee: tuple[str, ...]
    sender: tuple[str, ...]
    body: tuple[Block, ...]


def parse_blocks(text: str) -> list[Block]:
    """The blocks of a print-format rendering; text outside any block (the template's blank lines) is
    layout whitespace and ignored. An unknown kind is an error in the template, named."""
    blocks: list[Block] = []
    for chunk in text.split(BLOCK_START)[1:]:
        kind, *lines = chunk.rstrip("\n").split(ITEM_SEPARATOR)
        if kind not in HEAD_KINDS and kind not in BODY_KINDS:
            raise InputError(_("the print template produced an unknown block {kind!r}").format(kind=kind), field="template")
        if lines:
            lines[-1] = lines[-1].rstrip("\n")
        blocks.append(Block(kind, tuple(lines)))
    return blocks


def document(text: str) -> Document:
    """The parts of a letter from a print-format rendering (the first block of each head kind wins)."""
    head: dict[str, tuple[str, ...]] = {}
    body: list[Block] = []
    for block in parse_blocks(text):
        if block.kind in HEAD_KINDS:
            head.setdefault(block.kind, block.lines)
        else:
            body.append(block)
    title = head.get("title", ("",))
    return Document(title[0] if title else "", head.get("dateline", ()), head.get("addressee", ()),
                    head.get("sender", ()), tuple(body))
