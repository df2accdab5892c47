"""Running `runs-sql` in tests: as a subprocess through pipes, or on a real pseudo-terminal."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from runs_dbapi.emulator import Emulator

CLI = [sys.executable, "-m", "runs_dbapi.cli"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TIMEOUT = 120


def url_of(emu: Emulator, path: str = "demo-project/us-central1") -> str:
    return f"runs://{path}?endpoint={emu.url}&anonymous=true"


def cli(*args: str, env: dict[str, str], stdin: str | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], input=stdin if stdin is not None else "",
                          capture_output=True, text=True, env=env, timeout=TIMEOUT, cwd=cwd,
                          check=False)


def on(emu: Emulator, env: dict[str, str], *args: str, stdin: str | None = None
       ) -> subprocess.CompletedProcess[str]:
    return cli("--url", url_of(emu), *args, env=env, stdin=stdin)


class Terminal:
    """A program on a real pseudo-terminal: what it writes, and keys typed to it."""

    def __init__(self, argv: list[str], env: dict[str, str], *, stdout: int | None = None
                 ) -> None:
        import fcntl
        import struct
        import termios

        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        self.process = subprocess.Popen(
            argv, stdin=slave, stdout=slave if stdout is None else stdout, stderr=slave,
            env=env, start_new_session=True, close_fds=True)
        os.close(slave)
        self.raw = b""

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8", errors="replace")

    @property
    def plain(self) -> str:
        return ANSI.sub("", self.text).replace("\r", "")

    def _read(self, seconds: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], seconds)
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:  # the other side closed
            return False
        self.raw += data
        return bool(data)

    def expect(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.plain)
            if found:
                return found
            if time.monotonic() > deadline or not self._read(0.05):
                raise AssertionError(f"{pattern!r} not seen; the terminal shows:\n{self.text!r}")

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def wait(self, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            self._read(0.05)
        while self._read(0.05) and self.process.poll() is not None:
            pass
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise AssertionError(f"still running; the terminal shows:\n{self.text!r}")
        os.close(self.master)
        return self.process.returncode
