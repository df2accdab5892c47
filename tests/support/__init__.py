"""What the tests share: worlds (emulators with data, and ways to look at them without the
driver), the README's blocks, the seed's statements, command-line helpers. Fixtures built on
them live in tests/conftest.py."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The project's root: setup.cfg, README.md, bench/."""
