"""`did you mean ...?` for a name that is not there: the nearest of the names that are."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def nearest(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The candidate closest to `word` (case-insensitive), or None if none is close."""
    names = {c.lower(): c for c in candidates}
    found = difflib.get_close_matches(word.lower(), list(names), n=1, cutoff=cutoff)
    return names[found[0]] if found else None


def did_you_mean(word: str, candidates: Iterable[str], quote: bool = True) -> str:
    """` Did you mean 'runs'?`, or "" when nothing is close."""
    found = nearest(word, candidates)
    if found is None or found == word:
        return ""
    return f" Did you mean {found!r}?" if quote else f" Did you mean {found}?"
