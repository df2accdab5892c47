"""The code blocks of README.md, with the marks that say how a test runs them.

A block is a fenced ```sh, ```sql, ```python or ```text block; an HTML comment on the line
before it, `<!-- test: MARK -->`, marks it:

- `fresh-clone`: a set-up command, run by test_fresh_clone.py in a fresh clone;
- `vertex`: written for Vertex AI, run against an emulator that requires authentication;
- `background PORT`: a server, started on a free port in place of PORT.

`text` blocks are output, never run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from support import ROOT

README = ROOT / "README.md"
RUNNABLE = ("sh", "sql", "python")
MARKS = ("fresh-clone", "vertex", "background")

_BLOCK = re.compile(
    r"^(?:<!-- test: (?P<mark>[^>]*?) -->\n)?```(?P<lang>[A-Za-z]*)\n(?P<body>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class Block:
    index: int
    line: int  # of the opening fence
    lang: str
    mark: str  # "" when unmarked
    body: str

    @property
    def id(self) -> str:
        return f"{self.index:02d}-{self.lang}-line{self.line}" + (
            f"-{self.mark.split()[0]}" if self.mark else "")


def read_blocks(text: str | None = None) -> list[Block]:
    text = README.read_text(encoding="utf-8") if text is None else text
    blocks = []
    for index, match in enumerate(_BLOCK.finditer(text)):
        fence = match.start("lang") - 3
        blocks.append(Block(index=index, line=text.count("\n", 0, fence) + 1,
                            lang=match.group("lang"), mark=(match.group("mark") or "").strip(),
                            body=match.group("body")))
    return blocks
