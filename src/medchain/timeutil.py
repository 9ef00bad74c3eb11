"""Reading time that a person or a URL typed, in one place so every command and query
agrees: a point in time (ISO 8601 `2026-01-02T03:04:05Z`, no zone meaning UTC, or unix
seconds), a length of time (`90`, `30m`, `4h`, `3d`), and a point relative to now
(`+30d`). Also the one `DAY` (and `HOUR`, `MINUTE`) constant in seconds, and the one way
to write a point in time (`iso_time`)."""

from __future__ import annotations

import datetime as dt

from medchain.errors import InvalidInput

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR

# A length of time is digits (seconds) or digits with one of these unit letters.
DURATION_UNITS = {"s": 1, "m": MINUTE, "h": HOUR, "d": DAY}


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


def duration_seconds(value: str, what: str = "duration") -> int:
    """Seconds in `90` (seconds), `30m`, `4h` or `3d`; InvalidInput naming `what` otherwise."""
    text = value.strip()
    if text.isdigit():
        return int(text)
    if text[-1:] in DURATION_UNITS and text[:-1].isdigit():
        return int(text[:-1]) * DURATION_UNITS[text[-1]]
    raise InvalidInput(f"{what} '{value}' is not like 3600, 30m, 4h or 3d")


def point_in_time(value: str, now: int, what: str = "time") -> int:
    """Unix seconds from ISO 8601, digits, or `+<duration>` after `now` (`+30d`, `+12h`)."""
    text = value.strip()
    if text.startswith("+"):
        return now + duration_seconds(text[1:], f"{what} (+30d, +12h from now)")
    return unix_seconds(text, f"{what} (or +30d / +12h from now)")


def iso_time(seconds: int) -> str:
    """Unix seconds as ISO 8601 UTC to the second (`2026-01-31T08:00:00Z`): what commands
    print, DID documents and FHIR resources carry."""
    return dt.datetime.fromtimestamp(int(seconds), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
