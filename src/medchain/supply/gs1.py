"""GS1 product identifiers for DSCSA: GTIN check digits and normalisation, element
strings `(01)(21)(10)(17)` in human-readable form or with FNC1/GS separators, GS1
Digital Link URIs, and YYMMDD dates. Every refusal is a `GS1Error` naming the AI
and the reason.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from medchain.errors import InvalidInput

GS = "\x1d"  # ASCII group separator: how scanners transmit FNC1 between fields
DIGITAL_LINK_BASE = "https://id.gs1.org"

# AIs this module reads: name, fixed length or None, maximum length, numeric only.
_AIS: dict[str, tuple[str, int | None, int, bool]] = {
    "00": ("SSCC", 18, 18, True),
    "01": ("GTIN", 14, 14, True),
    "10": ("lot", None, 20, False),
    "11": ("production date", 6, 6, True),
    "15": ("best before date", 6, 6, True),
    "17": ("expiry", 6, 6, True),
    "21": ("serial", None, 20, False),
}
# Variable-length values (10, 21) end at a GS or at the end of the data; fixed-length
# ones (00, 01, 11, 15, 17: predefined lengths, GS1 General Specifications 7.8.5) need none.
# GS1 AI encodable character set 82 (General Specifications figure 7.11-1).
_CSET82 = re.compile(r"^[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]*$")
_SYMBOLOGY_ID = re.compile(r"^\](?:C1|e0|d2|Q3|J1)")
_HRI_AI = re.compile(r"\((\d{2,4})\)")


class GS1Error(InvalidInput):
    """Malformed GS1 data; `ai` names the application identifier (or "" for the whole)."""

    def __init__(self, ai: str, reason: str):
        self.ai = ai
        self.reason = reason
        where = f"AI ({ai}) {_AIS[ai][0]}" if ai in _AIS else (f"AI ({ai})" if ai else "GS1 data")
        super().__init__(f"{where}: {reason}")


# --------------------------------------------------------------------------- check digits


def check_digit(body: str) -> int:
    """GS1 mod-10 check digit of `body` (all digits but the check digit)."""
    if not body.isdigit() or not body.isascii():
        raise GS1Error("", f"{body!r} is not all digits")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def normalize_gtin(gtin: str | int) -> str:
    """GTIN-8/12/13/14 as 14 digits (left zero-padded), check digit verified."""
    text = str(gtin).strip() if isinstance(gtin, str) else f"{gtin:014d}"
    if not text.isdigit() or not text.isascii():
        raise GS1Error("01", f"{text!r} is not all digits")
    if len(text) not in (8, 12, 13, 14):
        raise GS1Error("01", f"{text!r} has {len(text)} digits; a GTIN has 8, 12, 13 or 14")
    text = text.zfill(14)
    expected = check_digit(text[:-1])
    if int(text[-1]) != expected:
        raise GS1Error("01", f"{text} has check digit {text[-1]}, expected {expected}")
    return text


def make_gtin(company_prefix: str, item_reference: str, indicator: str = "0") -> str:
    """A GTIN-14 from indicator + company prefix + item reference (12 digits in all)."""
    body = indicator + company_prefix + item_reference
    if len(body) != 13 or not body.isdigit():
        raise GS1Error("01", "indicator + company prefix + item reference must be 13 digits")
    return body + str(check_digit(body))


def normalize_sscc(sscc: str | int) -> str:
    """An 18-digit SSCC with a verified check digit."""
    text = str(sscc).strip() if isinstance(sscc, str) else f"{sscc:018d}"
    if len(text) != 18 or not text.isdigit() or not text.isascii():
        raise GS1Error("00", f"{text!r} is not 18 digits")
    expected = check_digit(text[:-1])
    if int(text[-1]) != expected:
        raise GS1Error("00", f"{text} has check digit {text[-1]}, expected {expected}")
    return text


def make_sscc(extension: str, company_prefix: str, serial_reference: str) -> str:
    """An SSCC from extension digit + company prefix + serial reference (17 digits)."""
    body = extension + company_prefix + serial_reference
    if len(body) != 17 or not body.isdigit():
        raise GS1Error("00", "extension + company prefix + serial reference must be 17 digits")
    return body + str(check_digit(body))


# --------------------------------------------------------------------------- dates


def parse_yymmdd(value: str, ai: str = "17") -> dt.date:
    """A GS1 date: DD = 00 means the last day of the month. Years are 2000-2099,
    as the contract reads them (GS1's sliding century window agrees until 2049)."""
    if len(value) != 6 or not value.isdigit() or not value.isascii():
        raise GS1Error(ai, f"{value!r} is not a YYMMDD date (6 digits)")
    year, month, day = 2000 + int(value[:2]), int(value[2:4]), int(value[4:])
    if not 1 <= month <= 12:
        raise GS1Error(ai, f"{value!r}: month {month:02d} does not exist")
    last = calendar.monthrange(year, month)[1]
    if day > last:
        raise GS1Error(ai, f"{value!r}: day {day:02d} does not exist in {year}-{month:02d}")
    return dt.date(year, month, day or last)


def format_yymmdd(date: dt.date) -> str:
    if not 2000 <= date.year <= 2099:
        raise GS1Error("17", f"{date.isoformat()} is outside 2000-2099")
    return date.strftime("%y%m%d")


def expiry_timestamp(yymmdd: str) -> int:
    """Unix time from which product with this expiry is expired (start of the next day, UTC)."""
    day = parse_yymmdd(yymmdd) + dt.timedelta(days=1)
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


# --------------------------------------------------------------------------- identifiers


def _check_value(ai: str, value: str) -> str:
    _name, fixed, maximum, numeric = _AIS[ai]
    if not value:
        raise GS1Error(ai, "is empty")
    if fixed is not None and len(value) != fixed:
        raise GS1Error(ai, f"{value!r} has {len(value)} characters, expected {fixed}")
    if len(value) > maximum:
        raise GS1Error(ai, f"{value!r} is longer than {maximum} characters")
    if numeric and not (value.isdigit() and value.isascii()):
        raise GS1Error(ai, f"{value!r} must be digits only")
    if not _CSET82.match(value):
        bad = next(c for c in value if not _CSET82.match(c))
        raise GS1Error(ai, f"{value!r} contains {bad!r}, outside the GS1 character set 82")
    if ai in ("00", "01") and int(value[-1]) != check_digit(value[:-1]):
        raise GS1Error(
            ai, f"{value} has check digit {value[-1]}, expected {check_digit(value[:-1])}"
        )
    return value


@dataclass(frozen=True)
class ProductIdentifier:
    """The DSCSA product identifier: GTIN-14, serial (AI 21), lot (AI 10), expiry YYMMDD (AI 17)."""

    gtin: str
    serial: str
    lot: str
    expiry: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "gtin", normalize_gtin(self.gtin))
        _check_value("21", self.serial)
        _check_value("10", self.lot)
        _check_value("17", self.expiry)
        parse_yymmdd(self.expiry)

    @property
    def expiry_date(self) -> dt.date:
        return parse_yymmdd(self.expiry)

    def element_string(self, *, parentheses: bool = True) -> str:
        """`(01)…(21)…(10)…(17)…`, or the scanner form: fixed-length AIs first, a GS after
        each variable-length value that is not last."""
        if parentheses:
            return f"(01){self.gtin}(21){self.serial}(10){self.lot}(17){self.expiry}"
        return f"01{self.gtin}17{self.expiry}10{self.lot}{GS}21{self.serial}"

    def digital_link(self, base: str = DIGITAL_LINK_BASE, *, lot_in_path: bool = True) -> str:
        """GS1 Digital Link: `/01/<gtin>/10/<lot>/21/<serial>?17=<expiry>` (lot as key
        qualifier in the path) or `/01/<gtin>/21/<serial>?10=<lot>&17=<expiry>`."""
        gtin, ser, lot = self.gtin, quote(self.serial, safe=""), quote(self.lot, safe="")
        if lot_in_path:
            return f"{base.rstrip('/')}/01/{gtin}/10/{lot}/21/{ser}?17={self.expiry}"
        return f"{base.rstrip('/')}/01/{gtin}/21/{ser}?10={lot}&17={self.expiry}"

    def onchain(self) -> tuple[int, bytes, bytes, int]:
        """(uint64 gtin, bytes20 serial, bytes20 lot, uint24 expiry) as the contract takes it."""
        return (int(self.gtin), to_bytes20(self.serial), to_bytes20(self.lot), int(self.expiry))


def to_bytes20(text: str) -> bytes:
    """A lot or serial as bytes20: its ASCII left-aligned, zero-padded (<= 20 characters)."""
    raw = text.encode("ascii")
    if len(raw) > 20:
        raise GS1Error("", f"{text!r} is longer than 20 characters")
    return raw.ljust(20, b"\0")


def from_bytes20(raw: bytes) -> str:
    return bytes(raw).rstrip(b"\0").decode("ascii")


# --------------------------------------------------------------------------- parsing


def parse_element_string(text: str) -> dict[str, str]:
    """AI -> value from a GS1 element string, human-readable `(01)…` or raw with GS
    separators (a leading symbology identifier like `]d2` and a leading GS are ignored)."""
    data = _SYMBOLOGY_ID.sub("", text.strip("\r\n"))
    if data.startswith("("):
        return _parse_hri(data)
    return _parse_raw(data.lstrip(GS))


def _put(found: dict[str, str], ai: str, value: str) -> None:
    if ai not in _AIS:
        raise GS1Error(ai, "is not an application identifier this registry reads")
    if ai in found:
        raise GS1Error(ai, "appears twice")
    found[ai] = _check_value(ai, value)


def _parse_hri(data: str) -> dict[str, str]:
    found: dict[str, str] = {}
    parts = _HRI_AI.split(data)
    if parts[0]:
        raise GS1Error("", f"unexpected {parts[0]!r} before the first (AI)")
    for ai, value in zip(parts[1::2], parts[2::2], strict=True):
        _put(found, ai, value)
    if not found:
        raise GS1Error("", "no (AI) found")
    return found


def _parse_raw(data: str) -> dict[str, str]:
    found: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        ai = data[pos : pos + 2]
        if ai not in _AIS:
            raise GS1Error(ai, f"is not an application identifier this registry reads (at {pos})")
        _name, fixed, maximum, _numeric = _AIS[ai]
        pos += 2
        if fixed is not None:
            value = data[pos : pos + fixed]
            if len(value) < fixed or GS in value:
                raise GS1Error(ai, f"{value!r} is shorter than its fixed length {fixed}")
            pos += fixed
            if data[pos : pos + 1] == GS:  # not needed after a predefined length; tolerated
                pos += 1
        else:
            end = data.find(GS, pos)
            end = len(data) if end < 0 else end
            value = data[pos:end]
            if len(value) > maximum:
                raise GS1Error(
                    ai,
                    f"value runs {len(value)} characters past its maximum {maximum}: a GS "
                    "separator is missing after it",
                )
            pos = end + 1
        _put(found, ai, value)
    if not found:
        raise GS1Error("", "empty element string")
    return found


def parse_digital_link(uri: str) -> dict[str, str]:
    """AI -> value from a GS1 Digital Link URI (any host, optional path prefix before /01/,
    key qualifiers in the path, data attributes in the query)."""
    parts = urlsplit(uri.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise GS1Error("", f"{uri!r} is not an http(s) URI")
    segments = [s for s in parts.path.split("/") if s]
    if "01" not in segments:
        raise GS1Error("01", f"{uri!r} has no /01/<gtin> path")
    start = segments.index("01")
    path = segments[start:]
    if len(path) % 2:
        raise GS1Error(path[-1], "has no value in the path")
    found: dict[str, str] = {}
    for ai, value in zip(path[0::2], path[1::2], strict=True):
        value = unquote(value)
        if ai == "01":
            value = normalize_gtin(value)
        _put(found, ai, value)
    for ai, value in parse_qsl(parts.query, keep_blank_values=True):
        if ai.isdigit():
            _put(found, ai, value)
    return found


def parse_scan(text: str) -> dict[str, str]:
    """AI -> value from whatever a scanner or camera gives: Digital Link or element string."""
    stripped = text.strip()
    if "://" in stripped:
        return parse_digital_link(stripped)
    return parse_element_string(text)


def product_identifier(text: str) -> ProductIdentifier:
    """The full DSCSA product identifier from a scan; each missing AI is named."""
    found = parse_scan(text)
    for ai in ("01", "21", "10", "17"):
        if ai not in found:
            raise GS1Error(ai, "is missing: a DSCSA product identifier needs (01)(21)(10)(17)")
    return ProductIdentifier(found["01"], found["21"], found["10"], found["17"])
