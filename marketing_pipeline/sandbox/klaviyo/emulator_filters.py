"""Klaviyo's ``filter=`` expressions, parsed for the emulator: ``and(op(field,value),...)``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

OPERATORS = {"equals", "any", "greater-or-equal", "greater-than", "less-or-equal", "less-than"}


class FilterError(ValueError):
    pass


@dataclass(frozen=True)
class Term:
    op: str
    field: str
    value: object


def _split_top(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _value(raw: str) -> object:
    raw = raw.strip()
    if raw.startswith("[") and raw.endswith("]"):
        return [_value(v) for v in _split_top(raw[1:-1])]
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    if raw in ("true", "false"):
        return raw == "true"
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        pass
    else:
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    try:
        return float(raw) if "." in raw else int(raw)
    except ValueError:
        raise FilterError(f"'{raw}' is not a valid value (quote strings, use ISO-8601 datetimes)") from None


def parse(expression: str | None) -> list[Term]:
    if not expression:
        return []
    text = expression.strip()
    if text.startswith("and(") and text.endswith(")"):
        pieces = _split_top(text[4:-1])
    else:
        pieces = [text]
    terms = []
    for piece in pieces:
        name, paren, rest = piece.partition("(")
        if not paren or not rest.endswith(")") or name not in OPERATORS:
            raise FilterError(f"'{piece}' is not a supported filter expression")
        args = _split_top(rest[:-1])
        if len(args) != 2:
            raise FilterError(f"'{piece}' needs a field and a value")
        terms.append(Term(name, args[0], _value(args[1])))
    return terms


def time_window(terms: list[Term], field: str) -> tuple[datetime | None, datetime | None, bool, bool]:
    """(lower, upper, lower_inclusive, upper_inclusive) for ``field`` from comparison terms."""
    lo = hi = None
    lo_inc = hi_inc = True
    for t in terms:
        if t.field != field:
            continue
        if not isinstance(t.value, datetime):
            raise FilterError(f"'{t.field}' must be compared with a datetime")
        if t.op in ("greater-or-equal", "greater-than"):
            lo, lo_inc = t.value, t.op == "greater-or-equal"
        elif t.op in ("less-than", "less-or-equal"):
            hi, hi_inc = t.value, t.op == "less-or-equal"
        else:
            raise FilterError(f"operator '{t.op}' is not allowed for '{t.field}'")
    return lo, hi, lo_inc, hi_inc


def within(value: datetime, window: tuple) -> bool:
    lo, hi, lo_inc, hi_inc = window
    if lo is not None and (value < lo or (value == lo and not lo_inc)):
        return False
    if hi is not None and (value > hi or (value == hi and not hi_inc)):
        return False
    return True
