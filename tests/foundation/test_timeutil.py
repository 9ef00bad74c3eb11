"""One parser for typed points in time."""

import pytest

from medchain.errors import InvalidInput
from medchain.timeutil import unix_seconds


def test_iso_with_zone_without_zone_and_digits():
    assert unix_seconds("2026-01-02T03:04:05Z") == 1767323045
    assert unix_seconds("2026-01-02T03:04:05") == 1767323045  # no zone: UTC
    assert unix_seconds("2026-01-02T04:04:05+01:00") == 1767323045
    assert unix_seconds(" 1767323045 ") == 1767323045


def test_garbage_is_named():
    with pytest.raises(InvalidInput, match="expiry must be ISO 8601 or unix seconds, got 'soon'"):
        unix_seconds("soon", "expiry")
