"""Bodies from outside: parsed into plain JSON values PostgreSQL can store, or refused with a reason.

``json.loads`` alone lets through what breaks later: nesting deep enough to exhaust the
recursion limit (in the parser, pydantic or the jsonb adapter), ``\\u0000``, which neither ``text`` nor
``jsonb`` columns accept, and lone surrogates (``\\ud800``), which are not UTF-8. Both are refused here, before anything else looks at them.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32  # a cart event is 4 deep; nothing we accept needs more


class BadBody(ValueError):
    """A body that is not acceptable JSON; the message says why."""


def parse_json(body: bytes | str) -> Any:
    try:
        value = json.loads(body)
    except RecursionError:
        raise BadBody(f"body is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise BadBody(f"body is not JSON: {exc}") from None
    check_value(value)
    return value


def check_value(value: Any) -> None:
    """Refuse NUL characters and nesting over ``MAX_DEPTH``, walking without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise BadBody("body contains a NUL character (\\u0000)")
            if not item.isascii():
                try:
                    item.encode()
                except UnicodeEncodeError:
                    raise BadBody("body contains a lone UTF-16 surrogate (e.g. \\ud800)") from None
        elif isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise BadBody(f"body is nested deeper than {MAX_DEPTH} levels")
            if isinstance(item, dict):
                stack.extend((k, depth) for k in item)
                stack.extend((v, depth + 1) for v in item.values())
            else:
                stack.extend((v, depth + 1) for v in item)


def storable_text(raw: bytes | str) -> tuple[str, bool]:
    """Text a ``text`` column accepts: the body verbatim when possible, else escaped
    (undecodable bytes and NUL as backslash escapes). Returns (text, escaped)."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("utf-8", errors="backslashreplace").replace("\x00", "\\x00"), True
    else:
        try:
            raw.encode()
            text = raw
        except UnicodeEncodeError:  # lone surrogates
            text = raw.encode("utf-8", errors="backslashreplace").decode()
            return text.replace("\x00", "\\x00"), True
    if "\x00" in text:
        return text.replace("\\", "\\\\").replace("\x00", "\\x00"), True
    return text, False
