"""A virtual terminal of fixed size (pyte) to draw the CLI's output on, as a person's terminal would show it.

Output captured from a run (in process, or a subprocess told it writes to a terminal with ``TTY_COMPATIBLE=1``,
``COLUMNS`` and ``LINES``) is replayed frame by frame, so that a test sees every screen the person saw, not only
the last one.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import threading
import time

import pyte
from rich.console import Console

# Where rich's live display redraws (a carriage return, then an erase of the line) and where it stops (it shows the
# cursor again): the screen just before each of these is what the person saw at that moment.
MOMENTS = re.compile("(?=\r\x1b\\[2K|\x1b\\[\\?25h)")
# The live view's first line: a spinner frame (or the outcome), the operation, the elapsed time.
HEADER = re.compile(r"^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏✓✗] (preview|up|destroy|refresh) · \d+(m\d\d)?s · ")
TTY_ENV = {"TTY_COMPATIBLE": "1", "COLUMNS": "100", "LINES": "24"}  # what a 100x24 terminal tells rich


class Terminal:
    """A pyte screen that a rich Console can write to (``console()``), or that a captured output is replayed on."""

    def __init__(self, columns: int = 100, lines: int = 24):
        self.columns, self.height = columns, lines
        self.screen = pyte.Screen(columns, lines)
        self.screen.set_mode(pyte.modes.LNM)  # a line feed also returns the carriage, as a tty's output does
        self.stream = pyte.ByteStream(self.screen)
        self._lock = threading.Lock()  # the live display redraws from its own thread

    # -- a file for rich -------------------------------------------------------------------------
    def write(self, text: str) -> int:
        with self._lock:
            self.stream.feed(text.encode())
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True

    def console(self) -> Console:
        return Console(file=self, width=self.columns, height=self.height, force_terminal=True, highlight=False)

    # -- what is on the screen -------------------------------------------------------------------
    def lines(self) -> list[str]:
        with self._lock:
            return [line.rstrip() for line in self.screen.display]

    def replay(self, output: str) -> list[list[str]]:
        """Feed ``output`` a moment at a time; the screen at each one."""
        screens = []
        for piece in MOMENTS.split(output):
            self.write(piece)
            screens.append(self.lines())
        return screens


def run_in_pty(command: list[str], question: str, answer: str, columns: int = 100, lines: int = 24) -> str:
    """Run ``command`` on a pseudo-terminal of this size (so it knows it is on a terminal and asks), answer
    ``question`` when it appears, and return everything it wrote."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    with subprocess.Popen(command, stdin=follower, stdout=follower, stderr=follower, close_fds=True) as proc:
        os.close(follower)
        output, asked, deadline = b"", False, time.monotonic() + 120
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1)
            try:
                chunk = os.read(leader, 65536) if ready else b""
            except OSError:  # the command ended and closed the terminal
                break
            output += chunk
            if not asked and question.encode() in output:
                os.write(leader, answer.encode() + b"\n")
                asked = True
        proc.kill()
    os.close(leader)
    return output.decode(errors="replace")


def view(lines: list[str]) -> list[str]:
    """The live view on a screen, from its header line down without blank lines (empty when there is none)."""
    starts = [i for i, line in enumerate(lines) if HEADER.match(line)]
    assert len(starts) <= 1, "\n".join(lines)  # one view: a redraw never leaves an old one behind
    return [line for line in lines[starts[0] :] if line] if starts else []


def views(output: str, columns: int = 100, lines: int = 24) -> list[list[str]]:
    """The live view on each screen of a run's ``output``, checked as a person would look at it: shorter than the
    screen, and every call the header counts as in flight has its row on screen."""
    found = [view(screen) for screen in Terminal(columns, lines).replay(output) if view(screen)]
    for shown in found:
        assert len(shown) < lines, shown
        running = re.search(r"· (\d+) running", shown[0])
        assert sum("ing… " in line for line in shown) == (int(running[1]) if running else 0), shown
    return found
