"""Real Groth16 proofs (circom-compiled circuit, snarkjs on Node, the committed zkey)
verified on chain by the snarkjs verifier behind EligibilityRegistry and TrialRegistry.

Proofs are made once per module where a test only needs one (about 2 s each)."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest

from medchain.errors import ContractRevert
from medchain.trials import Role, TrialsClient, document_hash, outcomes_hash
from medchain.zk import (
    Credential,
    CredentialNotFound,
    CredType,
    Criteria,
    EligibilityClient,
    Holder,
    IssuerTree,
    NotEligible,
    Proof,
    date_int,
    encode_code,
    prove,
)
from medchain.zk.model import witness_input
from support.deploy import deploy_fresh

SITE = 101
BIRTH = date_int("1985-06-15")
TRIAL_CRITERIA = Criteria(
    CredType.DIAGNOSIS,
    min_age=18,
    max_age=65,
    any_of=(encode_code("I10"), encode_code("I11")),
    none_of=(encode_code("E11"),),
)
VACCINE = Criteria(
    CredType.VACCINATION, date_min=date_int("2023-09-01"), any_of=(encode_code("CVX-309"),)
)


def _revert(fn: Any) -> ContractRevert:
    with pytest.raises(ContractRevert) as err:
        fn()
    return err.value


@pytest.fixture(scope="module")
def holder() -> Holder:
    return Holder(random.Random(42).randrange(1, 2**250))


@pytest.fixture(scope="module")
def diagnosis(zk: EligibilityClient, holder: Holder, lab: Any) -> Credential:
    """Hypertension, no diabetes, issued by the lab (a hospital's issuer account)."""
    cred = Credential(
        holder.commitment,
        CredType.DIAGNOSIS,
        date_int("2022-11-02"),
        BIRTH,
        (encode_code("I10"), encode_code("E78.5")),
    )
    zk.issue(cred, sender=lab)
    return cred


@pytest.fixture(scope="module")
def trials(deployer: Any) -> TrialsClient:
    return TrialsClient(deploy_fresh(deployer, "TrialRegistry").contracts["TrialRegistry"])


def _gated_trial(trials, gate, lab, sponsor, ethics, investigator, n: int) -> int:
    trial_id = trials.register(
        f"NCT9000000{n}",
        document_hash(b"zk protocol %d" % n),
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
        outcomes_hash(["response at 12 weeks"], []),
        [ethics],
        sender=sponsor,
    )
    trials.grant_role(trial_id, investigator, Role.INVESTIGATOR, SITE, sender=sponsor)
    trials.require_eligibility(trial_id, gate, lab, TRIAL_CRITERIA.hash(), sender=sponsor)
    return trial_id


@pytest.fixture(scope="module")
def trial_a(trials, gate, lab, sponsor, ethics, investigator) -> int:
    return _gated_trial(trials, gate, lab, sponsor, ethics, investigator, 1)


@pytest.fixture(scope="module")
def trial_b(trials, gate, lab, sponsor, ethics, investigator) -> int:
    return _gated_trial(trials, gate, lab, sponsor, ethics, investigator, 2)


@pytest.fixture(scope="module")
def proof_a(zk, holder, diagnosis, trials, trial_a, lab) -> Proof:
    return zk.prove(
        holder, diagnosis, TRIAL_CRITERIA, issuer=lab, verifier=trials.address, context=trial_a
    )


def test_valid_proof_enrolls_once_per_trial(zk, trials, trial_a, proof_a, holder, investigator):
    # the SDK's Poseidon, the circuit's and the contract's scope agree
    assert proof_a.nullifier == holder.nullifier(zk.scope(trials.address, trial_a))
    assert proof_a.criteria_hash == TRIAL_CRITERIA.hash()
    refused = _revert(lambda: trials.enroll(trial_a, SITE, "Z-000", sender=investigator))
    assert refused.error_name == "TrialEligibilityProofRequired"

    trials.enroll_eligible(trial_a, SITE, "Z-001", proof_a, sender=investigator)
    log = trials.export(trial_a)
    assert [e["type"] for e in log["entries"]][-2:] == ["EligibilityRequired", "Enrolled"]
    assert zk.call("isSpent", proof_a.scope, proof_a.nullifier)

    # the same proof again, and a fresh proof of the same credential: one holder, one enrollment
    again = _revert(
        lambda: trials.enroll_eligible(trial_a, SITE, "Z-002", proof_a, sender=investigator)
    )
    assert again.error_name == "EligibilityNullifierSpent"
    fresh = zk.prove(holder, diagnosis_of(zk, holder), TRIAL_CRITERIA, issuer=trials_issuer(trials, trial_a),
                     verifier=trials.address, context=trial_a)  # fmt: skip
    assert fresh.a != proof_a.a and fresh.nullifier == proof_a.nullifier
    again = _revert(
        lambda: trials.enroll_eligible(trial_a, SITE, "Z-003", fresh, sender=investigator)
    )
    assert again.error_name == "EligibilityNullifierSpent"


def diagnosis_of(zk: EligibilityClient, holder: Holder) -> Credential:
    return Credential(holder.commitment, CredType.DIAGNOSIS, date_int("2022-11-02"), BIRTH,
                      (encode_code("I10"), encode_code("E78.5")))  # fmt: skip


def trials_issuer(trials: TrialsClient, trial_id: int) -> str:
    demanded = trials.eligibility(trial_id)
    assert demanded is not None
    return demanded[1]


def test_proof_made_for_another_trial_is_refused(trials, trial_a, trial_b, proof_a, investigator):
    err = _revert(
        lambda: trials.enroll_eligible(trial_b, SITE, "Z-010", proof_a, sender=investigator)
    )
    assert (
        err.error_name == "EligibilityInvalidProof"
    )  # the gate derives trial B's scope; the proof has A's


@pytest.fixture(scope="module")
def proof_r3(zk, holder, diagnosis, lab, researcher, proof_a) -> Proof:
    """The same credential and criteria as proof_a, for another scope (researcher, context 3)."""
    return zk.prove(holder, diagnosis, TRIAL_CRITERIA, issuer=lab, verifier=researcher, context=3)


def test_forged_and_altered_proofs_are_refused(zk, lab, researcher, proof_r3):
    # a valid proof in an unspent scope (the researcher's context 3), then one change at a time
    proof = proof_r3

    def check(p: Proof, criteria_hash: int = TRIAL_CRITERIA.hash()) -> Any:
        return zk.check(p, verifier=researcher, issuer=lab, criteria_hash=criteria_hash, context=3)

    assert check(proof) == proof.scope
    for altered in (
        replace(proof, a=(proof.a[0], proof.a[1] + 1)),  # off the curve
        replace(proof, a=(1, 2)),  # the G1 generator: on the curve, forged
        replace(proof, c=proof.a),  # elements swapped
        replace(proof, nullifier=proof.nullifier + 1),  # a public signal altered
    ):
        assert _revert(lambda p=altered: check(p)).error_name == "EligibilityInvalidProof"
    criteria = _revert(lambda: check(proof, TRIAL_CRITERIA.hash() + 1))
    assert criteria.error_name == "EligibilityInvalidProof"  # proved for other criteria
    day = _revert(lambda: check(replace(proof, today=proof.today - 10000)))
    assert day.error_name == "EligibilityWrongDate"


def test_proof_against_a_root_the_issuer_never_had_is_refused(zk, lab, holder, trials, trial_a):
    # a made-up credential in a tree of the prover's own: the proof is valid, the root is not
    fake = Credential(holder.commitment, CredType.DIAGNOSIS, 20200101, BIRTH, (encode_code("I11"),))
    tree = IssuerTree([*zk.issuer_tree(lab).leaves, fake.leaf])
    index = len(tree.leaves) - 1
    witness = witness_input(holder, fake, TRIAL_CRITERIA, index=index, siblings=tree.path(index),
                            root=tree.root, scope=zk.scope(trials.address, 77), today=zk.chain_date())  # fmt: skip
    forged = prove(witness)
    err = _revert(lambda: zk.check(forged, verifier=trials.address, issuer=lab,
                                   criteria_hash=TRIAL_CRITERIA.hash(), context=77))  # fmt: skip
    assert err.error_name == "EligibilityUnknownRoot"


def test_revoked_credential_is_refused(zk, lab, trials, researcher):
    holder2 = Holder(random.Random(7).randrange(1, 2**250))
    cred = Credential(holder2.commitment, CredType.DIAGNOSIS, 20210505, date_int("1990-01-01"),
                      (encode_code("I10"),))  # fmt: skip
    zk.issue(cred, sender=lab)
    proof = zk.prove(holder2, cred, TRIAL_CRITERIA, issuer=lab, verifier=researcher, context=5)
    scope = zk.check(proof, verifier=researcher, issuer=lab, criteria_hash=TRIAL_CRITERIA.hash(),
                     context=5)  # fmt: skip
    assert scope == proof.scope  # valid before the revocation
    zk.revoke(lab, cred.leaf, sender=lab)
    err = _revert(lambda: zk.verify(proof, issuer=lab, criteria_hash=TRIAL_CRITERIA.hash(),
                                    context=5, sender=researcher))  # fmt: skip
    assert err.error_name == "EligibilityStaleRoot"
    with pytest.raises(CredentialNotFound):  # and no new proof: the leaf is gone
        zk.prove(holder2, cred, TRIAL_CRITERIA, issuer=lab, verifier=researcher, context=5)


def test_wrong_attributes_cannot_produce_a_proof(zk, lab, holder, diagnosis, researcher):
    too_old = Criteria(CredType.DIAGNOSIS, min_age=18, max_age=30, any_of=(encode_code("I10"),))
    with pytest.raises(NotEligible, match="older than 30"):
        zk.prove(holder, diagnosis, too_old, issuer=lab, verifier=researcher, context=1)
    # past the SDK's own check, the circuit refuses: no witness, so no proof
    tree = zk.issuer_tree(lab)
    index = tree.index_of(diagnosis.leaf)
    common = dict(index=index, siblings=tree.path(index), root=tree.root,
                  scope=zk.scope(researcher, 1), today=zk.chain_date())  # fmt: skip
    excluded = Criteria(CredType.DIAGNOSIS, none_of=(encode_code("E78.5"),))
    for cred, crit in (
        (diagnosis, too_old),  # the age predicate
        (diagnosis, excluded),  # a code in the excluded set
        (replace(diagnosis, birth_date=date_int("2000-01-01")), TRIAL_CRITERIA),  # lied birth date
    ):
        with pytest.raises(NotEligible, match="no proof exists"):
            prove(witness_input(holder, cred, crit, **common))


def test_vaccination_proof_to_a_venue(zk, provider, holder, researcher):
    """The researcher account plays a venue: generic verifyEligibility in its own scope."""
    shot = Credential(holder.commitment, CredType.VACCINATION, date_int("2024-10-01"), BIRTH,
                      (encode_code("CVX-309"),))  # fmt: skip
    zk.issue(shot, sender=provider)
    proof = zk.prove(holder, shot, VACCINE, issuer=provider, verifier=researcher, context=2026)
    receipt = zk.verify(proof, issuer=provider, criteria_hash=VACCINE.hash(), context=2026,
                        sender=researcher)  # fmt: skip
    (ev,) = [e for e in receipt.events if e.event_name == "EligibilityVerified"]
    assert ev.nullifier == proof.nullifier and ev.scope == proof.scope
    assert receipt.gas_used <= 280_000, receipt.gas_used
    err = _revert(lambda: zk.verify(proof, issuer=provider, criteria_hash=VACCINE.hash(),
                                    context=2026, sender=researcher))  # fmt: skip
    assert err.error_name == "EligibilityNullifierSpent"


def test_one_credential_in_two_scopes_is_unlinkable(zk, holder, proof_a, proof_r3, trials, trial_a,
                                                    researcher):  # fmt: skip
    """proof_a (trial A) and proof_r3 (a researcher's scope) prove the same credential against
    the same criteria. Their public signals share only what every holder of that issuer's
    credentials proving those criteria that day shares (root, criteria hash, date); the rest
    (nullifier, scope) differs and is a hash of secret and scope, so the two cannot be joined."""
    a, b = proof_a.public_signals(), proof_r3.public_signals()
    shared = set(a) & set(b)
    assert shared == {proof_a.root, proof_a.criteria_hash}  # signals 0 and 3
    assert proof_a.today == proof_r3.today and a[2] != b[2]  # (scope << 32 | today) differs
    assert proof_a.nullifier != proof_r3.nullifier
    assert proof_a.scope == zk.scope(trials.address, trial_a)
    assert proof_r3.scope == zk.scope(researcher, 3)
    # neither nullifier is derivable from the other proof's public signals without the secret
    assert holder.nullifier(proof_r3.scope) == proof_r3.nullifier
    assert proof_a.nullifier not in b and proof_r3.nullifier not in a


def test_a_credential_sealed_to_every_device_key_opens_on_each(holder):
    """A holder whose DID publishes two X25519 keys (two devices) gets one sealed credential
    both open; a key it does not publish opens nothing."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from medchain.crypto import WrongRecipientKey
    from medchain.keystore import public_bytes
    from medchain.zk.client import open_credential, seal_credential, sealed_recipients

    cred = Credential(holder.commitment, CredType.VACCINATION, date_int("2024-10-01"), BIRTH,
                      (encode_code("CVX-309"),))  # fmt: skip
    devices = [X25519PrivateKey.generate(), X25519PrivateKey.generate()]
    where = {"chain_id": 31337, "registry": "0x" + "11" * 20}
    blob = seal_credential(cred, [public_bytes(d) for d in devices], **where)
    assert sealed_recipients(blob) == [public_bytes(d) for d in devices]
    for device in devices:
        assert open_credential(blob, device, **where).leaf == cred.leaf
    with pytest.raises(WrongRecipientKey):
        open_credential(blob, X25519PrivateKey.generate(), **where)
