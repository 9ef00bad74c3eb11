"""Gas of every ConsentRegistry write (and of `hasAccess` sent as a transaction, the
tx-equivalent cost of a check), plus the proof that a grant and a check cost the same
with 1 and with 10,000 existing grants of the same patient.

The 10,000 grants are real transactions, sent as JSON-RPC batches of
`eth_sendTransaction` from the patient's unlocked anvil account; grantees are chosen
without zero bytes so calldata costs the same in both measurements.
"""

from __future__ import annotations

import os
from typing import Any

from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector, keccak

from bench.accounts import funded_account
from medchain.codec import scope_code

LAB = scope_code("category:laboratory")
OBS = scope_code("Observation")
TREAT_MASK, ETREAT = 1, 1
OPEN_END = (1 << 40) - 1
# Fixed times (not "now + x"): calldata gas depends on the bytes, so figures stay
# identical from run to run. 2100-01-01T00:00:00Z.
END = 4_102_444_800
DEADLINE = END
EXISTING = int(os.environ.get("CONSENT_GAS_EXISTING", 10_000))
ANCHOR_SIGNED = (78_000, "EIP-712 patient-signed grant, 2025 design (domain.md)")
ANCHOR_ROLE = (51_455, "OZ AccessControl grantRole, new member (domain.md)")
# A grant asks the DID registry for the patient's current owner (~4,700 gas, cold): the
# security review's target for that (issue 11) replaces the bare grantRole anchor.
ANCHOR_GRANT = (
    56_000,
    "direct grant with the DID-owner check: security target (grantRole 51,455 without)",
)


def _grantee(n: int) -> str:
    """An address with no zero byte (same calldata cost for every n)."""
    raw = keccak(n.to_bytes(32, "big"))[:20]
    return "0x" + bytes(b or 1 for b in raw).hex()


def _provision(
    patient: Any, grantee: Any, actions: int = 1, scope: bytes = LAB, end: int = END
) -> tuple[Any, ...]:
    """The arguments of a direct grant (or deny) by `patient`: `actions` on `scope` for
    treatment, from 0 to `end`."""
    return (patient, grantee, scope, actions, TREAT_MASK, 0, end)


def _fill(g: Any, registry: Any, patient: str, count: int) -> None:
    """`count` real grant transactions by `patient` (an unlocked anvil account)."""
    import httpx

    provider = g.chain.provider
    uri = provider.uri
    selector = function_signature_to_4byte_selector(
        "grant(address,address,bytes32,uint8,uint32,uint40,uint40)"
    )
    batch = 500
    nonce = int(provider.web3.eth.get_transaction_count(patient, "pending"))
    # Mine in full blocks (automine off) rather than one block per transaction.
    provider.make_request("evm_setAutomine", [False])
    with httpx.Client(timeout=300) as http:
        for first in range(0, count, batch):
            body = []
            for n in range(first, min(count, first + batch)):
                data = selector + encode(
                    ["address", "address", "bytes32", "uint8", "uint32", "uint40", "uint40"],
                    _provision(patient, _grantee(1_000 + n), end=OPEN_END),
                )
                body.append(
                    {
                        "jsonrpc": "2.0",
                        "id": n,
                        "method": "eth_sendTransaction",
                        "params": [
                            {
                                "from": patient,
                                "to": str(registry.address),
                                "data": "0x" + data.hex(),
                                "gas": hex(100_000),
                                "nonce": hex(nonce + n),
                            }
                        ],
                    }
                )
            answers = http.post(uri, json=body).json()
            failed = [a for a in answers if "error" in a]
            if failed:
                raise RuntimeError(f"filling grants failed: {failed[0]['error']}")
    for _ in range(count // 100 + 10):
        if int(provider.web3.eth.get_transaction_count(patient)) >= nonce + count:
            break
        provider.make_request("evm_mine", [])
    provider.make_request("evm_setAutomine", [True])
    if int(provider.web3.eth.get_transaction_count(patient)) < nonce + count:
        raise RuntimeError("anvil did not mine every filling grant")
    if int(registry.provisionOf(patient, _grantee(1_000 + count - 1), LAB)[0][0]) != 1:
        raise RuntimeError("the last filling grant is not on chain")


def measure(g: Any) -> None:
    registry = g.contracts["ConsentRegistry"]
    did = g.contracts["DIDRegistry"]
    acc = g.accounts
    patient, guardian = acc["patient"], acc["guardian"]
    provider, researcher = acc["provider"], acc["researcher"]
    end = END

    def new_key_grant_and_check(n: int, existing: str) -> None:
        """A grant to a new grantee and a check of it, with `existing` grants of the patient."""
        g.record(
            f"ConsentRegistry.grant (new key, {existing})",
            registry.grant(*_provision(patient, _grantee(n)), sender=patient),
            *ANCHOR_GRANT,
        )
        g.record(
            f"ConsentRegistry.hasAccess as tx ({existing})",
            registry.hasAccess.transact(patient, _grantee(n), LAB, 1, 0, sender=researcher),
        )

    # --- grants with 1 existing grant of this patient, then the same with 10,000
    g.record(
        "ConsentRegistry.grant (first grant of a patient)",
        registry.grant(*_provision(patient, _grantee(1)), sender=patient),
        *ANCHOR_GRANT,
    )
    new_key_grant_and_check(2, "1 existing grant")
    _fill(g, registry, patient.address, EXISTING)
    new_key_grant_and_check(3, "10,000 existing grants")
    g.record(
        "ConsentRegistry.grant (replace existing permit)",
        registry.grant(*_provision(patient, _grantee(3), actions=3), sender=patient),
    )
    g.record(
        "ConsentRegistry.deny (beside an existing permit)",
        registry.deny(*_provision(patient, _grantee(3), actions=4), sender=patient),
    )
    g.record(
        "ConsentRegistry.liftDeny",
        registry.liftDeny(patient, _grantee(3), LAB, sender=patient),
    )
    g.record(
        "ConsentRegistry.revoke",
        registry.revoke(patient, _grantee(3), LAB, sender=patient),
    )

    # --- a consent delegate (guardian) acting through the DID registry
    did.addDelegate(patient, registry.CONSENT_DELEGATE(), guardian, 3600, sender=patient)
    g.record(
        "ConsentRegistry.grant by DID consent delegate",
        registry.grant(*_provision(patient, _grantee(4), scope=OBS), sender=guardian),
    )

    # --- gasless: patient-signed grant and revocation, relayed by someone else
    from medchain.consent import ConsentClient

    client = ConsentClient(registry)
    deadline = DEADLINE
    signed = client.sign_grant(patient, patient, provider, LAB, 1, 1, 0, end, deadline=deadline)
    g.record(
        "ConsentRegistry.grantBySig (first signed grant of a patient)",
        client.relay(signed, sender=researcher),
        *ANCHOR_SIGNED,
    )
    signed = client.sign_grant(patient, patient, provider, OBS, 1, 1, 0, end, deadline=deadline)
    g.record(
        "ConsentRegistry.grantBySig (second signed grant of a patient)",
        client.relay(signed, sender=researcher),
        *ANCHOR_SIGNED,
    )
    g.record(
        "ConsentRegistry.invalidateSignatures",
        client.invalidate_signatures(patient, provider, scope_code("Encounter"), sender=patient),
    )
    revocation = client.sign_revocation(patient, patient, provider, LAB, deadline=deadline)
    g.record(
        "ConsentRegistry.revokeBySig (patient-signed, relayed)",
        client.relay(revocation, sender=researcher),
    )

    # --- audit
    registry.grant(*_provision(patient, provider), sender=patient)
    g.record(
        "ConsentRegistry.recordAccess",
        registry.recordAccess(patient, LAB, 1, 0, b"\x42" * 32, sender=provider),
    )

    # --- break-glass
    clinician = funded_account(g)
    g.record(
        "ConsentRegistry.grantRole (CLINICIAN_ROLE)",
        registry.grantRole(registry.CLINICIAN_ROLE(), clinician, sender=acc["deployer"]),
        *ANCHOR_ROLE,
    )

    def request_break_glass(reason: bytes) -> tuple[Any, int]:
        """The clinician's break-glass request for the patient: the receipt and the episode."""
        receipt = registry.requestBreakGlass(patient, reason * 32, 3600, sender=clinician)
        return receipt, next(iter(registry.BreakGlassRequested.from_receipt(receipt))).episodeId

    receipt, episode = request_break_glass(b"\x01")
    g.record("ConsentRegistry.requestBreakGlass", receipt)
    for stage, approver in (("below threshold", "approver1"), ("activating", "approver2")):
        g.record(
            f"ConsentRegistry.approveBreakGlass ({stage})",
            registry.approveBreakGlass(episode, sender=acc[approver]),
        )
    g.record(
        "ConsentRegistry.recordAccess (break-glass)",
        registry.recordAccess(patient, OBS, 1, ETREAT, b"\x43" * 32, sender=clinician),
    )
    g.record("ConsentRegistry.closeBreakGlass", registry.closeBreakGlass(episode, sender=clinician))
    _, pending = request_break_glass(b"\x03")
    g.record(
        "ConsentRegistry.cancelBreakGlass (by the privacy officer)",
        registry.cancelBreakGlass(pending, sender=acc["privacy_officer"]),
    )
    g.record(
        "ConsentRegistry.reviewBreakGlass",
        registry.reviewBreakGlass(episode, True, b"\x02" * 32, sender=acc["privacy_officer"]),
    )
    g.record(
        "ConsentRegistry.setBreakGlassThreshold",
        registry.setBreakGlassThreshold(3, sender=acc["deployer"]),
    )
    registry.setBreakGlassThreshold(2, sender=acc["deployer"])
