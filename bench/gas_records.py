"""Gas of every RecordRegistry write: anchoring a record (no envelope, the patient's
envelope, three envelopes), a correction, sharing (one envelope), a delegate's anchor,
a consent-authorised provider's anchor and its correction of its own record (the author
check), and setting the write authorizer. Record ids are derived on chain from the author
and a salt (`recordIdOf`)."""

from __future__ import annotations

import itertools
from typing import Any

from eth_utils import keccak

from bench.accounts import funded_account
from medchain.records import record_id_for, scope_code
from medchain.storage.unixfs import compute_cid

OBS = scope_code("Observation")
ZERO = b"\0" * 32


def _cid(seed: bytes, size: int = 64) -> bytes:
    return compute_cid((seed * size)[:size]).to_bytes()


_serial = itertools.count()


def _request(patient: Any, supersedes: bytes = ZERO, cid_size: int = 64) -> tuple[Any, ...]:
    # Deterministic salts and hashes: random ones change calldata zero bytes, hence gas.
    n = next(_serial).to_bytes(8, "big")
    salt, content_hash = keccak(b"bench-record" + n), keccak(b"bench-content" + n)
    return (str(patient.address), salt, OBS, 1, _cid(salt, cid_size), content_hash, supersedes)


def _id(author: Any, req: tuple[Any, ...]) -> bytes:
    return record_id_for(author, req[0], req[1])


def measure(g: Any) -> None:
    registry = g.contracts["RecordRegistry"]
    did = g.contracts["DIDRegistry"]
    patient, provider, researcher = funded_account(g), funded_account(g), funded_account(g)

    req = _request(patient)
    g.record(
        "RecordRegistry.anchorRecord (no envelope)", registry.anchorRecord(req, [], sender=patient)
    )
    req = _request(patient)
    g.record(
        "RecordRegistry.anchorRecord (patient envelope)",
        registry.anchorRecord(req, [(patient.address, _cid(b"e"))], sender=patient),
    )
    first = _id(patient, req)
    three = [(a.address, _cid(a.address.encode())) for a in (patient, provider, researcher)]
    g.record(
        "RecordRegistry.anchorRecord (3 envelopes)",
        registry.anchorRecord(_request(patient), three, sender=patient),
    )
    big = _request(patient, cid_size=300_000)  # dag-pb root CID instead of a raw leaf
    g.record(
        "RecordRegistry.anchorRecord (dag-pb CID, patient envelope)",
        registry.anchorRecord(big, [(patient.address, _cid(b"f"))], sender=patient),
    )
    g.record(
        "RecordRegistry.anchorRecord (correction, patient envelope)",
        registry.anchorRecord(
            _request(patient, supersedes=first), [(patient.address, _cid(b"g"))], sender=patient
        ),
    )
    g.record(
        "RecordRegistry.addEnvelope (share)",
        registry.addEnvelope(first, provider, _cid(b"h"), sender=patient),
    )
    did.addDelegate(patient, keccak(b"medchain/records"), researcher, 86_400, sender=patient)
    g.record(
        "RecordRegistry.anchorRecord (DID delegate, patient envelope)",
        registry.anchorRecord(
            _request(patient), [(patient.address, _cid(b"i"))], sender=researcher
        ),
    )
    admin = g.accounts["deployer"]
    consent = g.contracts.get("ConsentRegistry")
    if consent is not None:
        # Measured from "no authorizer" whatever the consent plan's wiring did.
        if registry.writeAuthorizer() != "0x" + "00" * 20:
            registry.setWriteAuthorizer("0x" + "00" * 20, sender=admin)
        g.record(
            "RecordRegistry.setWriteAuthorizer",
            registry.setWriteAuthorizer(consent, sender=admin),
        )
    if consent is not None:
        from ape import chain

        now = chain.pending_timestamp
        consent.grant(patient, provider, OBS, consent.WRITE(), 1 << consent.TREAT(), now,
                      now + 86_400, sender=patient)  # fmt: skip
        by_provider = _request(patient)
        g.record(
            "RecordRegistry.anchorRecord (consented provider, patient envelope)",
            registry.anchorRecord(by_provider, [(patient.address, _cid(b"j"))], sender=provider),
        )
        g.record(
            "RecordRegistry.anchorRecord (consented author's correction, patient envelope)",
            registry.anchorRecord(
                _request(patient, supersedes=_id(provider, by_provider)),
                [(patient.address, _cid(b"k"))],
                sender=provider,
            ),
        )
