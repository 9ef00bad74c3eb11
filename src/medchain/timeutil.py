"""Reading a point in time that a person or a URL typed: ISO 8601 (`2026-01-02T03:04:05Z`,
no zone meaning UTC) or unix seconds. One parser, so every command and query agrees."""

from __future__ import annotations

import datetime as dt

from medchain.errors import InvalidInput


def unix_seconds(value: str, what: str = "time") -> int:
    """Unix seconds from ISO 8601 or digits; InvalidInput naming `what` otherwise."""
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"{what} must be ISO 8601 or unix seconds, got {value!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return int(parsed.timestamp())
