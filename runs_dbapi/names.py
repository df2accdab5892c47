"""Output column names as SQLite gives them: an unaliased expression is named by its text as
written (`count( * )`, `labels ->> '$.s'`), never by the text sqlglot regenerates from the tree.

The local evaluator runs SQL that sqlglot wrote back from the tree, so each unaliased expression
(not a plain column, which SQLite names after the column either way) gets an explicit alias
holding the original text of its span, taken from the tokens of the statement.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

# Tokens that end a select list at its own parenthesis depth.
_LIST_END = {
    TokenType.FROM, TokenType.WHERE, TokenType.GROUP_BY, TokenType.HAVING, TokenType.ORDER_BY,
    TokenType.LIMIT, TokenType.OFFSET, TokenType.FETCH, TokenType.UNION, TokenType.INTERSECT,
    TokenType.EXCEPT, TokenType.WINDOW, TokenType.QUALIFY, TokenType.INTO, TokenType.SEMICOLON,
}
_LIST_START = {TokenType.SELECT, TokenType.RETURNING}
_LIST_MODIFIERS = {TokenType.DISTINCT, TokenType.ALL}


@dataclass
class _List:
    """One select (or RETURNING) list being read: its depth and its items' token spans."""

    depth: int
    spans: list[tuple[int, int]] = field(default_factory=list)
    first: int | None = None  # token index where the current item starts
    last: int | None = None

    def close_item(self) -> None:
        if self.first is not None and self.last is not None:
            self.spans.append((self.first, self.last))
        self.first = self.last = None


def _select_lists(tokens: Sequence[Token]) -> list[list[tuple[int, int]]]:
    """The items of every select list, as (first char, last char) offsets, in text order."""
    finished: list[_List] = []
    open_lists: list[_List] = []
    depth = 0
    for index, token in enumerate(tokens):
        kind = token.token_type
        top = open_lists[-1] if open_lists else None
        if top is not None and top.depth == depth and (
                kind in _LIST_END or kind == TokenType.R_PAREN):
            top.close_item()
            finished.append(open_lists.pop())
        elif top is not None and top.depth == depth and kind == TokenType.COMMA:
            top.close_item()
            continue
        elif (top is not None and top.depth == depth and kind in _LIST_MODIFIERS
              and top.first is None and not top.spans):
            continue
        if kind == TokenType.L_PAREN:
            depth += 1
        elif kind == TokenType.R_PAREN:
            depth = max(0, depth - 1)
        for open_list in open_lists:
            if open_list.first is None:
                open_list.first = index
            open_list.last = index
        if kind in _LIST_START:
            open_lists.append(_List(depth))
    for open_list in open_lists:
        open_list.close_item()
        finished.append(open_list)
    spans = [[(tokens[a].start, tokens[b].end) for a, b in lst.spans] for lst in finished]
    return sorted(spans, key=lambda items: items[0][0] if items else -1)


def _own_positions(projection: exp.Expression, markers: Mapping[str, list[int]]
                   ) -> list[list[int]]:
    """Source offsets of the projection's own tokens (not those of subqueries within it), each
    as its candidates: one offset, or for a parameter marker (which the parser leaves without
    one) every place its name stands."""
    positions = []
    for node in projection.walk(prune=lambda n: n is not projection and isinstance(n, exp.Query)):
        start = node.meta.get("start") if node.meta else None
        if isinstance(start, int) and not isinstance(node, exp.Query):
            positions.append([start])
        elif isinstance(node, exp.Placeholder) and node.name in markers:
            positions.append(markers[node.name])
    return positions


def _marker_starts(renamed: Sequence[Token]) -> dict[str, list[int]]:
    """Where each parameter marker's name stands (`:name`, and `?` as numbered)."""
    starts: dict[str, list[int]] = {}
    for before, token in itertools.pairwise(renamed):
        if before.token_type == TokenType.COLON and token.token_type == TokenType.VAR:
            starts.setdefault(token.text, []).append(token.start)
    return starts


def _is_column(node: exp.Expression) -> bool:
    while isinstance(node, exp.Paren):
        node = node.this
    return isinstance(node, (exp.Column, exp.Star))


def name_outputs(tree: exp.Expression, sql: str, tokens: Sequence[Token],
                 renamed: Sequence[Token] = ()) -> None:
    """Alias, in place, each unaliased expression of every select list with its text in `sql`
    (the text `tree` was parsed from, whose `tokens` these are; `renamed`: the tokens parsed,
    with `?` markers numbered)."""
    lists = [items for items in _select_lists(tokens) if items]
    markers = _marker_starts(renamed)
    for node in list(tree.find_all(exp.Select, exp.Returning)):
        projections = node.expressions
        if not projections or _named_by_cte(node):
            continue
        chosen = _list_of(projections, lists, markers)
        if chosen is None or len(chosen) != len(projections):
            continue
        for projection, (start, end) in zip(projections, chosen, strict=True):
            if isinstance(projection, exp.Alias) or _is_column(projection):
                continue
            text = sql[start:end + 1]
            projection.replace(exp.Alias(this=projection.copy(),
                                         alias=exp.to_identifier(text, quoted=True)))


def _named_by_cte(select: exp.Expression) -> bool:
    """Whether a CTE's column list (`WITH n(i) AS (...)`) names this select's outputs."""
    node = select
    while isinstance(node.parent, (exp.SetOperation, exp.Subquery, exp.Paren)):
        node = node.parent
    parent = node.parent
    if not isinstance(parent, exp.CTE):
        return False
    alias = parent.args.get("alias")
    return isinstance(alias, exp.TableAlias) and bool(alias.columns)


def _list_of(projections: Sequence[exp.Expression], lists: list[list[tuple[int, int]]],
             markers: Mapping[str, list[int]]) -> list[tuple[int, int]] | None:
    """The select list whose items hold these projections' tokens, item by item."""
    for items in lists:
        if len(items) != len(projections):
            continue
        matched = True
        for projection, (start, end) in zip(projections, items, strict=True):
            positions = _own_positions(projection, markers)
            if positions and not all(any(start <= p <= end for p in candidates)
                                     for candidates in positions):
                matched = False
                break
        if matched and any(_own_positions(p, markers) for p in projections):
            return items
    return None
