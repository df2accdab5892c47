"""Statements in a text: split at `;` outside strings, quoted names and comments, with the line
each starts on, and the verb each begins with. Needs nothing of the driver."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Statement:
    sql: str
    number: int  # 1 for the first statement of the text
    line: int  # the line of the text it starts on (1-based)


def split_statements(text: str) -> tuple[list[str], str]:
    """Statements ended by `;` outside strings, quoted names and comments, and the rest.

    The rest is the text after the last `;` (an unfinished statement, or only whitespace and
    comments). Statements holding nothing but comments are dropped.
    """
    spans, rest = _spans(text)
    return [sql for sql, _ in spans], rest


def _spans(text: str) -> tuple[list[tuple[str, int]], str]:
    """As split_statements, with each statement's offset in `text` (after leading space)."""
    statements: list[tuple[str, int]] = []
    start = index = 0
    content = False  # the current statement has something besides whitespace and comments
    length = len(text)
    while index < length:
        char = text[index]
        if char in "'\"`":
            end = index + 1
            while end < length:
                if text[end] == char:
                    if end + 1 < length and text[end + 1] == char:  # '' inside a string
                        end += 2
                        continue
                    break
                end += 1
            index, content = end + 1, True
        elif text.startswith("--", index):
            newline = text.find("\n", index)
            index = length if newline < 0 else newline + 1
        elif text.startswith("/*", index):
            close = text.find("*/", index + 2)
            index = length if close < 0 else close + 2
        elif char == ";":
            if content:
                body = text[start:index + 1]
                statements.append((body.strip(), start + len(body) - len(body.lstrip())))
            start, index, content = index + 1, index + 1, False
        else:
            content = content or not char.isspace()
            index += 1
    return statements, text[start:]


def has_content(text: str) -> bool:
    """Whether text holds anything but whitespace and comments."""
    statements, rest = split_statements(text + "\n;")
    return bool(statements) or bool(rest.strip(" \t\r\n;"))


def all_statements(text: str) -> list[str]:
    return [s.sql for s in numbered_statements(text)]


def numbered_statements(text: str) -> list[Statement]:
    """Every statement of a script (the last may lack its `;`), numbered, with its line."""
    spans, rest = _spans(text)
    if has_content(rest):
        spans.append((rest.strip(), len(text) - len(rest) + len(rest) - len(rest.lstrip())))
    return [Statement(sql, number, text.count("\n", 0, offset) + 1)
            for number, (sql, offset) in enumerate(spans, start=1)]


def statement_verb(sql: str) -> str:
    """The first word of a statement, past comments and parentheses (SELECT, INSERT, ...)."""
    words = statement_words(sql, 1)
    return words[0] if words else ""


def statement_words(sql: str, count: int) -> list[str]:
    """The first `count` words of a statement, upper-cased, past comments and parentheses."""
    statements, rest = split_statements(sql)
    body = statements[0] if statements else rest
    words: list[str] = []
    index = 0
    while index < len(body) and len(words) < count:
        if body.startswith("--", index):
            newline = body.find("\n", index)
            index = len(body) if newline < 0 else newline + 1
        elif body.startswith("/*", index):
            close = body.find("*/", index)
            index = len(body) if close < 0 else close + 2
        elif body[index].isspace() or body[index] == "(":
            index += 1
        elif body[index].isalpha() or body[index] == "_":
            word = ""
            while index < len(body) and (body[index].isalnum() or body[index] == "_"):
                word += body[index]
                index += 1
            words.append(word.upper())
        else:
            break
    return words
