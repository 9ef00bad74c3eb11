"""EligibilityRegistry client: issue and revoke credentials, rebuild an issuer's tree from
its events, prove and verify eligibility (SDK surface of `medchain zk`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from medchain.client import ContractClient
from medchain.codec import to_address
from medchain.crypto import (
    EnvelopeContext,
    decrypt,
    encrypt,
    envelopes_in,
    new_data_key,
    seal_key,
    unwrap_key,
)
from medchain.errors import IntegrityError, InvalidInput
from medchain.logs import reader_for_contracts
from medchain.zk.model import (
    DEPTH,
    Credential,
    Criteria,
    Holder,
    IssuerTree,
    NotEligible,
    scope_of,
    utc_date,
    witness_input,
)
from medchain.zk.prover import Proof, prove

__all__ = [
    "DEPTH",
    "EligibilityClient",
    "Issued",
    "open_credential",
    "seal_credential",
    "sealed_recipients",
    "utc_date",
]


@dataclass(frozen=True)
class Issued:
    index: int
    leaf: int
    root: int
    tx: str


class EligibilityClient(ContractClient):
    contract_name: ClassVar[str] = "EligibilityRegistry"

    # ------------------------------------------------------------------ issuers
    def issue(self, credential: Credential, *, sender: Any | None = None) -> Issued:
        receipt = self.transact("issue", credential.leaf, sender=sender)
        return _issued(self.event_from(receipt, "CredentialIssued"), receipt)

    def issue_batch(
        self, credentials: list[Credential], *, sender: Any | None = None
    ) -> list[Issued]:
        """Issue several credentials in one transaction (about k + 16 Poseidon hashes for k)."""
        receipt = self.transact("issueBatch", [c.leaf for c in credentials], sender=sender)
        return [_issued(e, receipt) for e in self.events_from(receipt, "CredentialIssued")]

    def revoke(self, issuer: Any, leaf: int, *, sender: Any | None = None) -> int:
        """Zero `leaf` in the issuer's tree (the sender must be that issuer); returns the new root."""
        tree = self.issuer_tree(issuer)
        index = tree.index_of(leaf)
        receipt = self.transact("revoke", index, leaf, tree.path(index), sender=sender)
        return int(self.event_from(receipt, "CredentialRevoked")["root"])

    def is_issuer(self, account: Any) -> bool:
        return bool(self.call("hasRole", self.call("ISSUER_ROLE"), to_address(account)))

    def issuer_tree(self, issuer: Any) -> IssuerTree:
        """The issuer's tree rebuilt from its CredentialIssued/CredentialRevoked events,
        checked against the root the contract stores."""
        issuer = to_address(issuer, "issuer")
        leaves: list[int] = []
        logs = reader_for_contracts(self).read(
            names=("CredentialIssued", "CredentialRevoked"), where={"issuer": issuer}
        )
        for log in logs:  # chain order: a revocation follows its issue
            if log.name == "CredentialIssued":
                leaves.append(int(log.args["leaf"]))
            else:
                leaves[int(log.args["index"])] = 0
        tree = IssuerTree(leaves)
        size, root, _, _ = self.call("tree", issuer)
        if int(size) != len(leaves) or (leaves and tree.root != int(root)):
            raise IntegrityError(
                f"issuer {issuer}'s events do not rebuild its on-chain root: the node dropped events"
            )
        return tree

    # ------------------------------------------------------------------ holders
    def chain_date(self) -> int:
        return int(self.call("chainDate"))

    def scope(self, verifier: Any, context: int) -> int:
        return scope_of(to_address(verifier), context)

    def prove(
        self,
        holder: Holder,
        credential: Credential,
        criteria: Criteria,
        *,
        issuer: Any,
        verifier: Any,
        context: int,
        today: int | None = None,
    ) -> Proof:
        """A proof that `credential` (issued by `issuer`) meets `criteria`, for `verifier`'s
        scope `context` (a trial's is its TrialRegistry and the trial id)."""
        if credential.holder != holder.commitment:
            raise InvalidInput("the credential was issued to another holder secret")
        today = today if today is not None else self.chain_date()
        reason = criteria.admits(credential, today)
        if reason is not None:
            raise NotEligible(f"not eligible: {reason}")
        tree = self.issuer_tree(issuer)
        index = tree.index_of(credential.leaf)
        witness = witness_input(
            holder,
            credential,
            criteria,
            index=index,
            siblings=tree.path(index),
            root=tree.root,
            scope=self.scope(verifier, context),
            today=today,
        )
        return prove(witness)

    # ------------------------------------------------------------------ verifiers
    def check(
        self, proof: Proof, *, verifier: Any, issuer: Any, criteria_hash: int, context: int
    ) -> int:
        """Dry run: raises ContractRevert with the gate's reason, else returns the scope."""
        return int(
            self.call(
                "checkEligibility",
                to_address(verifier, "verifier"),
                *_gate_args(proof, issuer, criteria_hash, context),
            )
        )

    def verify(
        self,
        proof: Proof,
        *,
        issuer: Any,
        criteria_hash: int,
        context: int,
        sender: Any | None = None,
    ) -> Any:
        """Spend the proof in the sender's scope `context` (EligibilityVerified)."""
        return self.transact(
            "verifyEligibility",
            *_gate_args(proof, issuer, criteria_hash, context),
            sender=sender,
        )


def _issued(event: dict[str, Any], receipt: Any) -> Issued:
    return Issued(
        int(event["index"]), int(event["leaf"]), int(event["root"]), str(receipt.txn_hash)
    )


def _gate_args(proof: Proof, issuer: Any, criteria_hash: int, context: int) -> tuple[Any, ...]:
    """The arguments the eligibility gate takes after the verifier (check and verify alike)."""
    return (
        to_address(issuer, "issuer"),
        criteria_hash,
        context,
        proof.root,
        proof.nullifier,
        proof.today,
        proof.groth16(),
    )


# ---------------------------------------------------------------------- delivery (encrypted)
SCHEMA_VERSION = 1


def _context(credential_leaf: int, chain_id: int, registry: str) -> EnvelopeContext:
    return EnvelopeContext(credential_leaf.to_bytes(32, "big"), SCHEMA_VERSION, chain_id, registry)


def seal_credential(
    credential: Credential,
    recipient_public_key: bytes | Sequence[bytes],
    *,
    chain_id: int,
    registry: str,
) -> bytes:
    """The credential as the holder receives it: encrypted (the records envelope), bound to the
    leaf, chain and registry, sealed to the holder's X25519 key, or to each of its keys (a DID
    publishing several devices' keys gets a key envelope set). Nothing in it is readable."""
    publics = (
        [recipient_public_key]
        if isinstance(recipient_public_key, bytes)
        else list(recipient_public_key)
    )
    ctx = _context(credential.leaf, chain_id, registry)
    key = new_data_key()
    body = encrypt(json.dumps(credential.to_json()).encode(), key, ctx)
    envelope = seal_key(key, ctx, [(bytes(public), "") for public in publics])
    return json.dumps(
        {
            "kind": "medchain.zk.sealed-credential/1",
            "leaf": hex(credential.leaf),
            "envelope": envelope.hex(),
            "ciphertext": body.hex(),
        }
    ).encode()


def sealed_recipients(blob: bytes) -> list[bytes]:
    """The X25519 public keys a sealed credential is sealed to (to pick the private key)."""
    try:
        envelopes = envelopes_in(bytes.fromhex(json.loads(blob)["envelope"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"not a sealed medchain credential: {exc}") from None
    return [envelope.recipient_public_key for envelope in envelopes]


def open_credential(blob: bytes, private_key: Any, *, chain_id: int, registry: str) -> Credential:
    try:
        data = json.loads(blob)
        leaf = int(data["leaf"], 16)
        env = bytes.fromhex(data["envelope"])
        body = bytes.fromhex(data["ciphertext"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"not a sealed medchain credential: {exc}") from None
    ctx = _context(leaf, chain_id, registry)
    cred = Credential.from_json(json.loads(decrypt(body, unwrap_key(env, private_key, ctx), ctx)))
    if cred.leaf != leaf:
        raise IntegrityError("sealed credential's content does not match its leaf")
    return cred
