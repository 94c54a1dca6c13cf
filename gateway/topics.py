"""AMQP topic patterns (``accounts.#``, ``*.opportunity.won``) over routing
keys, as the broker reads them: ``*`` is exactly one word, ``#`` zero or
more. Used to filter the event history in SQL and to pick the events a
webhook wants (``shared.bus.topic_matches`` is the reference)."""
from __future__ import annotations

import re

from sqlalchemy import ColumnElement

WORD = re.compile(r"[A-Za-z0-9_-]+")
MAX_LENGTH = 200


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a topic pattern, or None."""
    if not isinstance(pattern, str) or not pattern:
        return "A pattern may not be empty."
    if len(pattern) > MAX_LENGTH:
        return f"A pattern has at most {MAX_LENGTH} characters."
    for word in pattern.split("."):
        if word not in ("*", "#") and not WORD.fullmatch(word):
            return ("Use dot-separated words of letters, digits, '_' or '-', where '*' stands for one word and "
                    "'#' for any number, e.g. 'accounts.#' or '*.opportunity.won'.")
    return None


def _words(pattern: str) -> list[str]:
    words: list[str] = []
    for word in pattern.split("."):
        if not (word == "#" and words and words[-1] == "#"):  # '#.#' means what '#' means
            words.append(word)
    return words


def to_regex(pattern: str) -> str:
    """An anchored regular expression (Python's and PostgreSQL's syntax alike)
    that matches exactly the routing keys the pattern matches."""
    words = _words(pattern)
    if words == ["#"]:
        return "^.*$"
    parts = []
    for index, word in enumerate(words):
        if word == "#":
            # Zero or more words, with the dots around them when they are there.
            parts.append(r"(?:[^.]+\.)*" if index == 0 else r"(?:\.[^.]+)*")
            continue
        if index > 0 and not (index == 1 and words[0] == "#"):
            parts.append(r"\.")
        parts.append("[^.]+" if word == "*" else re.escape(word))
    return "^" + "".join(parts) + "$"


def matches(pattern: str, key: str) -> bool:
    return re.match(to_regex(pattern), key) is not None


def matches_any(patterns, key: str) -> bool:
    return any(matches(p, key) for p in patterns)


def sql_match(column, pattern: str) -> ColumnElement[bool]:
    """``column`` (a routing key) matches ``pattern``: plain equality when the
    pattern has no wildcard (an index serves it), else a regular expression."""
    if "*" not in pattern and "#" not in pattern:
        return column == pattern
    return column.regexp_match(to_regex(pattern))
