"""Gas of the deterministic zero-knowledge operations: issuing a credential into an issuer's
depth-16 Poseidon tree (first leaf: every frontier slot new; a later one; a batch of 64, which
amortises the 16 levels), revoking one
(re-rooting: 32 Poseidon hashes), and a sponsor gating a trial by eligibility. Verifying a
proof is measured in bench/perf_zk.py instead: a Groth16 proof is randomised, so its calldata
(and gas, by a few dozen) differs on every run and cannot sit in this exact snapshot."""

from __future__ import annotations

from typing import Any

from medchain.trials import document_hash, outcomes_hash, registry_id_bytes
from medchain.zk import IssuerTree, poseidon

CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


def measure(g: Any) -> None:
    gate = g.contracts["EligibilityRegistry"]
    trials = g.contracts["TrialRegistry"]
    a = g.accounts
    issuer = a["lab"]
    leaves = [poseidon([i, 7]) for i in range(1, 5)]  # fixed leaves: deterministic calldata
    tree = IssuerTree()
    for i, leaf in enumerate(leaves):
        receipt = gate.issue(leaf, sender=issuer)
        tree.leaves.append(leaf)
        if i == 0:
            g.record("EligibilityRegistry.issue (issuer's first credential)", receipt)
        elif i == 3:
            g.record("EligibilityRegistry.issue (4th credential)", receipt)
    g.record(
        "EligibilityRegistry.revoke (re-root, depth 16)",
        gate.revoke(1, leaves[1], tree.path(1), sender=issuer),
    )
    batch = [poseidon([i, 8]) for i in range(1, 65)]
    g.record(
        "EligibilityRegistry.issueBatch (64 credentials, unaligned start)",
        gate.issueBatch(batch, sender=issuer),
    )
    sponsor = a["sponsor"]
    trials.register(
        registry_id_bytes("NCT77000001"), document_hash(b"zk"), CID,
        outcomes_hash(["o"], []), 1, [a["ethics"]], 1, sender=sponsor,
    )  # fmt: skip
    tid = int(trials.trialIdOf(sponsor, registry_id_bytes("NCT77000001")))
    g.record(
        "TrialRegistry.requireEligibility",
        trials.requireEligibility(tid, gate, issuer, poseidon([1, 2]), sender=sponsor),
    )
