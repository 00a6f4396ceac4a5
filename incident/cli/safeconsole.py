"""A rich Console that never writes a control character from the data it shows.

Stored text (titles, names, notes, a roster's cells) is shown through rich, which passes escape
sequences through: a title holding ESC ] 0 ; … could rewrite the terminal's title, ESC [ 2 J clear the
screen. `SafeConsole` shows every control character of the text it renders as a visible escape
(`incident.safetext.terminal_safe`), and leaves rich's own styling and control output alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.segment import Segment

from incident.safetext import terminal_safe


class SafeConsole(Console):
    """A Console whose text segments are made terminal-safe as they are written."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            Segment(terminal_safe(text), style, control) if control is None else Segment(text, style, control)
            for text, style, control in buffer
        )
