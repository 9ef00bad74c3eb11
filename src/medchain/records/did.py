"""The identity glue of records: who can decrypt a record is a DID's current X25519
key-agreement keys, resolved on chain through the identity domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from medchain.codec import to_address
from medchain.records.model import NoEnvelope


@dataclass(frozen=True)
class Recipient:
    """Who can decrypt: an account (DID address) and its X25519 key-agreement key."""

    address: str
    public_key: bytes
    key_id: str = ""


def recipients_for(did_or_address: Any, registry: Any = None) -> list[Recipient]:
    """The X25519 key-agreement keys a DID currently lists, resolved on chain through
    the identity domain (`registry`: DIDRegistry contract/address; default: address book)."""
    from medchain.identity import key_agreement_keys, parse_did

    text = str(getattr(did_or_address, "address", did_or_address))
    address = (
        str(parse_did(text).address) if text.startswith("did:") else to_address(text, "recipient")
    )
    keys = key_agreement_keys(text, registry)
    if not keys:
        raise NoEnvelope(f"{text} lists no X25519 key-agreement key: nothing to seal to")
    return [Recipient(address, bytes(public), str(kid)) for kid, public in keys]
