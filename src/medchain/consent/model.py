"""The SDK's picture of one consent provision (a permit or a deny for one patient,
grantee and scope), as stored on chain, imported from FHIR or exported to it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from medchain.codec import scope_code, to_address
from medchain.consent.codes import action_names, purpose_names
from medchain.errors import InvalidInput

OPEN_END = (1 << 40) - 1  # uint40 max: a provision without an end date

_DID = re.compile(r"^(?:did:ethr:(?:[A-Za-z0-9_]+:)?)?(0x[0-9a-fA-F]{40})$")


def address_of(ref: str, what: str = "address") -> str:
    """Checksum address from `0x...`, `did:ethr:0x...` or `did:ethr:<network>:0x...`
    (the network part is not checked here: see `ConsentClient` for the connected chain)."""
    match = _DID.match(str(ref).strip())
    if not match:
        raise InvalidInput(f"{what} '{ref}' is not an Ethereum address or did:ethr identifier")
    return to_address(match.group(1), what)


def did_of(address: str) -> str:
    return f"did:ethr:{to_address(address)}"


@dataclass(frozen=True)
class Grant:
    """One provision. `scope` is a label ("Observation", "category:laboratory", "*")
    or a 0x-hex scope id; `actions`/`purposes` are the on-chain bitmasks; the provision
    holds from `start` (inclusive) to `end` (exclusive), unix seconds."""

    patient: str
    grantee: str
    scope: str
    actions: int
    purposes: int
    start: int = 0
    end: int = OPEN_END
    deny: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "patient", address_of(self.patient, "patient"))
        object.__setattr__(self, "grantee", address_of(self.grantee, "grantee"))
        if not 0 <= self.start < self.end <= OPEN_END:
            raise InvalidInput(f"validity window [{self.start}, {self.end}) is empty or too large")

    @property
    def scope_id(self) -> bytes:
        return scope_code(self.scope)

    @property
    def key(self) -> tuple[str, str, bytes, bool]:
        return (self.patient, self.grantee, self.scope_id, self.deny)

    def active_at(self, timestamp: int) -> bool:
        return self.start <= timestamp < self.end

    def status_at(self, timestamp: int) -> str:
        """ "active", "expired" or "not-yet-started" at `timestamp` (unix seconds)."""
        if timestamp >= self.end:
            return "expired"
        return "active" if timestamp >= self.start else "not-yet-started"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "deny" if self.deny else "permit",
            "patient": self.patient,
            "grantee": self.grantee,
            "scope": self.scope,
            "scope_id": "0x" + self.scope_id.hex(),
            "actions": action_names(self.actions),
            "purposes": purpose_names(self.purposes),
            "start": self.start,
            "end": None if self.end == OPEN_END else self.end,
        }
