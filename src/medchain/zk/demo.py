"""Demo step: zero-knowledge eligibility. A vaccination provider issues a credential (its
Poseidon commitment into the provider's on-chain tree, its content sealed to the patient);
the patient proves "vaccinated with CVX-309 after 2023-09-01" to a venue, which learns nothing
else; a trial demands "hypertension (I10/I11), no type 2 diabetes (E11), age 18-65", enrolls
the patient by proof and refuses a second enrollment with the same credential."""

from __future__ import annotations

from typing import Any

from medchain.demo import DemoContext
from medchain.errors import ContractRevert
from medchain.keystore import generate_x25519, public_bytes
from medchain.trials import Role, TrialsClient, document_hash, outcomes_hash
from medchain.zk import (
    Credential,
    CredType,
    Criteria,
    EligibilityClient,
    Holder,
    date_int,
    encode_code,
    open_credential,
    seal_credential,
)

SITE = 303
BIRTH = date_int("1979-04-23")

# The trial's demand (the demo's and bench/perf_zk's): hypertension (I10 or I11), no type 2
# diabetes (E11), aged 18 to 65.
HYPERTENSION = Criteria(CredType.DIAGNOSIS, min_age=18, max_age=65,
                        any_of=(encode_code("I10"), encode_code("I11")),
                        none_of=(encode_code("E11"),))  # fmt: skip


def diagnosis(holder: Holder, codes: tuple[str, ...] = ("I10", "E78.5"),
              on: str = "2021-06-01", birth: int = BIRTH) -> Credential:  # fmt: skip
    """A lab's diagnosis credential for `holder` (ICD-10 `codes` diagnosed `on`), which
    `HYPERTENSION` accepts as given."""
    return Credential(holder.commitment, CredType.DIAGNOSIS, date_int(on), birth,
                      tuple(encode_code(c) for c in codes))  # fmt: skip


def gated_trial(trials: TrialsClient, registry_id: str, *, gate: Any, issuer: Any, ethics: Any,
                investigator: Any, criteria: Criteria = HYPERTENSION, site: int = SITE,
                sender: Any = None) -> int:  # fmt: skip
    """Register a trial (as `sender`, default the client's) whose enrollment demands a proof
    of `criteria` over `issuer`'s credentials in the EligibilityRegistry `gate`, with
    `investigator` enrolling at `site`; returns the trial id."""
    tid = trials.register(registry_id, document_hash(b"ZK-gated hypertension protocol"),
                          "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
                          outcomes_hash(["SBP change at 12 weeks"], []), [ethics],
                          sender=sender)  # fmt: skip
    trials.grant_role(tid, investigator, Role.INVESTIGATOR, site, sender=sender)
    trials.require_eligibility(tid, gate, issuer, criteria.hash(), sender=sender)
    return tid


def run(ctx: DemoContext) -> None:
    from ape import chain

    console = ctx.console
    acc = ctx.accounts
    gate = EligibilityClient(ctx.contracts["EligibilityRegistry"])
    patient = Holder.new()  # the secret never leaves the patient
    patient_key = generate_x25519()
    console.print(f"patient holder commitment {hex(patient.commitment)[:18]}… (given to issuers)")

    # 1. the provider issues a vaccination credential; the patient receives it sealed
    shot = Credential(patient.commitment, CredType.VACCINATION, date_int("2024-10-15"), BIRTH,
                      (encode_code("CVX-309"),))  # fmt: skip
    sealed = seal_credential(shot, public_bytes(patient_key), chain_id=gate.chain_id,
                             registry=gate.address)  # fmt: skip
    where = str(ctx.store.add(sealed)) if ctx.store is not None else f"{len(sealed)} bytes"
    issued = gate.issue(shot, sender=acc["provider"])
    received = open_credential(sealed, patient_key, chain_id=gate.chain_id, registry=gate.address)
    assert received == shot
    console.print(
        f"provider issued credential #{issued.index} (leaf only on chain), sealed → {where}"
    )

    # 2. the patient proves vaccination status to a venue (the researcher account plays it)
    venue = acc["researcher"]
    vaccine = Criteria(CredType.VACCINATION, date_min=date_int("2023-09-01"),
                       any_of=(encode_code("CVX-309"),))  # fmt: skip
    proof = gate.prove(patient, received, vaccine, issuer=acc["provider"], verifier=venue,
                       context=20261130)  # fmt: skip
    receipt = gate.verify(proof, issuer=acc["provider"], criteria_hash=vaccine.hash(),
                          context=20261130, sender=venue)  # fmt: skip
    console.print(f"venue verified vaccination in zero knowledge: proof {proof.seconds:.1f} s, "
                  f"{receipt.gas_used:,} gas; it saw only a nullifier and a root")  # fmt: skip

    # 3. a trial gated by age and diagnosis criteria
    dx = diagnosis(patient)
    gate.issue(dx, sender=acc["lab"])
    criteria = HYPERTENSION
    trials = TrialsClient(ctx.contracts["TrialRegistry"], acc["sponsor"])
    registry_id = f"NCT{(chain.blocks.height + 7) % 10**8:08d}"
    tid = gated_trial(trials, registry_id, gate=gate.address, issuer=acc["lab"],
                      ethics=acc["ethics"], investigator=acc["investigator"])  # fmt: skip
    site = trials.with_sender(acc["investigator"])
    console.print(f"trial {tid} demands: diagnosis in {{I10, I11}}, none in {{E11}}, age 18-65")

    enrol = gate.prove(patient, dx, criteria, issuer=acc["lab"], verifier=trials.address,
                       context=tid)  # fmt: skip
    site.enroll_eligible(tid, SITE, "ZK-001", enrol)
    console.print(
        f"enrolled by proof ({enrol.seconds:.1f} s to prove): no identity, age or diagnosis on chain"
    )
    try:
        site.enroll_eligible(tid, SITE, "ZK-002", enrol)
    except ContractRevert as err:
        console.print(f"second enrollment with the same credential refused: {err.error_name}")
    else:  # pragma: no cover - the demo would be wrong
        raise AssertionError("a second enrollment with the same credential went through")
    ctx.shared["zk"] = {"trial": tid, "nullifier": hex(enrol.nullifier)}
