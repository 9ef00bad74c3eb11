"""GA4GH Data Use Ontology (DUO) codes as the 32-bit mask GenomicLicensing stores.

Bits 0-15 are permitted *purposes* (a researcher declares a non-empty subset of the
offer's); bits 16-31 are *modifiers* (restrictions such as NPU or IRB) that a researcher
must accept all of. DUO's hierarchy (NRES > GRU > HMB > DS; GRU > POA) is applied off
chain by `expand`, so the contract's check stays one AND.
"""

from __future__ import annotations

from collections.abc import Iterable

from medchain.errors import InvalidInput

# Permitted purposes (DUO_0000004 NRES, 042 GRU, 006 HMB, 007 DS, 011 POA).
PURPOSES: dict[str, int] = {
    "NRES": 1 << 0,
    "GRU": 1 << 1,
    "HMB": 1 << 2,
    "DS": 1 << 3,
    "POA": 1 << 4,
}
# Modifiers (DUO_0000018 NPU, 046 NCU, 021 IRB, 019 PUB, 020 COL, 029 RTN, 016 GSO,
# 015 NMDS, 024 MOR, 022 GS, 044 NPOA).
MODIFIERS: dict[str, int] = {
    "NPU": 1 << 16,
    "NCU": 1 << 17,
    "IRB": 1 << 18,
    "PUB": 1 << 19,
    "COL": 1 << 20,
    "RTN": 1 << 21,
    "GSO": 1 << 22,
    "NMDS": 1 << 23,
    "MOR": 1 << 24,
    "GS": 1 << 25,
    "NPOA": 1 << 26,
}
CODES: dict[str, int] = {**PURPOSES, **MODIFIERS}
MODIFIER_MASK = 0xFFFF0000
LABELS: dict[str, str] = {
    "NRES": "no restriction",
    "GRU": "general research use",
    "HMB": "health/medical/biomedical research",
    "DS": "disease-specific research",
    "POA": "population origins or ancestry research",
    "NPU": "not-for-profit use only",
    "NCU": "non-commercial use only",
    "IRB": "ethics approval required",
    "PUB": "publication required",
    "COL": "collaboration required",
    "RTN": "return data to the resource",
    "GSO": "genetic studies only",
    "NMDS": "no general methods research",
    "MOR": "publication moratorium",
    "GS": "geographical restriction",
    "NPOA": "no population or ancestry research",
}
# What a broader permission also allows (DUO subclass hierarchy).
_IMPLIES: dict[str, tuple[str, ...]] = {
    "NRES": ("GRU", "HMB", "DS", "POA"),
    "GRU": ("HMB", "DS", "POA"),
    "HMB": ("DS",),
}


def mask(codes: Iterable[str] | str) -> int:
    """Bitmask of DUO codes ("HMB,NPU" or ["HMB", "NPU"]); unknown codes are refused."""
    items = codes.split(",") if isinstance(codes, str) else list(codes)
    value = 0
    for raw in items:
        code = raw.strip().upper()
        if not code:
            continue
        if code not in CODES:
            raise InvalidInput(f"unknown DUO code {code!r}; known: {', '.join(CODES)}")
        value |= CODES[code]
    return value


def expand(value: int) -> int:
    """Add the purposes a broader DUO permission implies (NPOA removes POA again)."""
    result = value
    for code, implied in _IMPLIES.items():
        if value & CODES[code]:
            for other in implied:
                result |= CODES[other]
    if result & CODES["NPOA"]:
        result &= ~CODES["POA"]
    return result


def codes(value: int) -> list[str]:
    """DUO codes in a mask, purposes first."""
    unknown = value & ~sum(CODES.values())
    if unknown:
        raise InvalidInput(f"mask has bits that are not DUO codes: {unknown:#x}")
    return [code for code, bit in CODES.items() if value & bit]


def describe(value: int) -> str:
    return ", ".join(f"{c} ({LABELS[c]})" for c in codes(value))
