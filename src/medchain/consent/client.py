"""ConsentClient: typed access to ConsentRegistry - grants, revocations, checks (single
and JSON-RPC-batched), EIP-712 signing and relaying (`medchain.signing.SignedPayload`),
break-glass, and the audit trail rebuilt from events read with `medchain.logs.LogReader`
(JSON and CSV)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode

from medchain.client import ContractClient
from medchain.codec import ZERO32, hex_to_bytes, scope_code, to_address, to_hex
from medchain.consent.codes import (
    ETREAT,
    action_names,
    actions_mask,
    purpose_index,
    purpose_names,
    purposes_mask,
    scope_label,
)
from medchain.consent.model import OPEN_END, Grant, address_of
from medchain.consent.notes import Commitment, NoteStore, note_name
from medchain.deployments import in_process_chain
from medchain.eip712 import Eip712Domain, typed_data
from medchain.errors import (
    ContractRevert,
    InvalidInput,
    MedchainError,
    TransactionFailed,
)
from medchain.hashing import keccak_text, selector
from medchain.logs import Event, reader_for_contracts
from medchain.signing import SignedPayload

__all__ = [
    "ETREAT",
    "SIGNED_FORMAT",
    "AuditEvent",
    "Check",
    "ConsentClient",
    "ConsentRequired",
    "UnknownEpisode",
    "WrongChainDID",
    "audit_csv",
    "consent_typed_data",
    "deliver_record_key",
    "did_address_on_connected_chain",
    "read_signed_change",
    "role_name",
    "signed_kind",
]

EIP712_NAME, EIP712_VERSION = "MedchainConsent", "1"
STATUS = ("none", "pending", "active", "accepted", "flagged", "cancelled")
# Role constants of ConsentRegistry, so refusals name the role instead of its hash.
ROLES = (
    "CLINICIAN_ROLE",
    "EMERGENCY_APPROVER_ROLE",
    "PRIVACY_OFFICER_ROLE",
    "DEFAULT_ADMIN_ROLE",
)


class WrongChainDID(InvalidInput):
    """A did:ethr names an identity on another chain than the connected one."""


class UnknownEpisode(InvalidInput, LookupError):
    """No break-glass episode has this id."""


def role_name(role_id: bytes) -> str:
    """CLINICIAN_ROLE etc. for a role id (keccak256 of the name; DEFAULT_ADMIN_ROLE is 0)."""
    raw = bytes(role_id)
    for name in ROLES:
        if raw == (ZERO32 if name == "DEFAULT_ADMIN_ROLE" else keccak_text(name)):
            return name
    return to_hex(raw)


_PROVISION_FIELDS = [
    ("patient", "address"),
    ("grantee", "address"),
    ("scope", "bytes32"),
    ("actions", "uint8"),
    ("purposes", "uint32"),
    ("start", "uint40"),
    ("end", "uint40"),
    ("deny", "bool"),
    ("signer", "address"),
    ("nonce", "uint256"),
    ("deadline", "uint256"),
]
_REVOCATION_FIELDS = [
    ("patient", "address"),
    ("grantee", "address"),
    ("scope", "bytes32"),
    ("deny", "bool"),
    ("signer", "address"),
    ("nonce", "uint256"),
    ("deadline", "uint256"),
]
_HAS_ACCESS = selector("hasAccess(address,address,bytes32,uint8,uint8)")

# Events of a patient's audit trail: those that name the patient, then the approvals of
# the patient's break-glass episodes (which name only the episode).
PATIENT_EVENTS = (
    "ConsentGranted",
    "ConsentDenied",
    "ConsentRevoked",
    "ConsentManagedBy",
    "ConsentImported",  # a migrated version's copy of the key (medchain.consent.migrate)
    "AccessRecorded",
    "BreakGlassRequested",
    "BreakGlassActivated",
    "BreakGlassCancelled",
    "BreakGlassClosed",
    "BreakGlassReviewed",
)
EPISODE_EVENTS = ("BreakGlassApproved",)
RPC_BATCH = 500  # eth_call requests per JSON-RPC batch


def _addr(value: Any) -> str:
    """Checksum address of an account, address or did:ethr. A DID must name the connected
    chain (did:ethr:0x539:0x... on chain 1337; no network part means mainnet, chain 1):
    another chain's DID is refused instead of being silently mapped to its address."""
    text = str(getattr(value, "address", value)).strip()
    if text.startswith("did:"):
        return did_address_on_connected_chain(text)
    return address_of(text)


def did_address_on_connected_chain(text: str) -> str:
    from ape import chain

    from medchain.identity.did import parse_did

    did = parse_did(text)
    connected = int(chain.provider.chain_id)
    if did.chain_id != connected:
        raise WrongChainDID(
            f"{text} names an identity on chain {did.chain_id}, but the connected chain is "
            f"{connected}: use did:ethr:{hex(connected)}:{did.address} or the bare address"
        )
    return did.address


# The JSON format of a signed consent change (`SignedPayload.format`), so another kind of
# signed file is not relayed as one.
SIGNED_FORMAT = "medchain.consent.signed-change/1"
# kind -> (EIP-712 primary type, fields in the contract's struct order)
_KINDS = {
    "provision": ("SignedProvision", _PROVISION_FIELDS),
    "revocation": ("SignedRevocation", _REVOCATION_FIELDS),
}


def _kind_of(kind: str) -> tuple[str, list[tuple[str, str]]]:
    try:
        return _KINDS[kind]
    except KeyError:
        raise InvalidInput(
            f"a signed consent change is a provision or a revocation, not {kind!r}"
        ) from None


def signed_kind(signed: SignedPayload) -> str:
    """What a signed consent change asks for: "provision" or "revocation"."""
    for kind, (primary, _) in _KINDS.items():
        if signed.primary_type == primary:
            return kind
    raise InvalidInput(f"not a signed consent change: a signed {signed.primary_type}")


def consent_typed_data(
    kind: str, message: dict[str, Any], chain_id: int, registry: str
) -> dict[str, Any]:
    """The EIP-712 document of a provision or revocation (eth_signTypedData_v4's input)."""
    primary, fields = _kind_of(kind)
    domain = Eip712Domain(EIP712_NAME, EIP712_VERSION, int(chain_id), registry)
    return typed_data(
        domain, primary, {primary: [{"name": n, "type": t} for n, t in fields]}, message
    )


def read_signed_change(data: str | bytes | dict[str, Any]) -> SignedPayload:
    """A signed provision or revocation from its JSON (`SignedPayload.to_dict()`, what
    `medchain consent sign` writes), or from the form `consent sign` wrote before the
    payload was shared (kind, message, signature, chainId, verifyingContract)."""
    try:
        doc = dict(data) if isinstance(data, dict) else json.loads(data)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"not a signed consent change: not JSON ({exc.msg})") from exc
    if not isinstance(doc, dict):
        raise InvalidInput("not a signed consent change: not a JSON object")
    if "typedData" in doc:
        signed = SignedPayload.from_json(doc, expected_format=SIGNED_FORMAT)
        signed_kind(signed)
        return signed
    try:
        message = dict(doc["message"])
        document = consent_typed_data(
            str(doc["kind"]), message, int(doc["chainId"]), to_address(doc["verifyingContract"])
        )
        return SignedPayload(
            document,
            hex_to_bytes(doc["signature"], "signature"),
            to_address(message["signer"], "signer"),
            SIGNED_FORMAT,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"not a signed consent change: missing {exc}") from exc


@dataclass(frozen=True)
class Check:
    """One access question for `check_many`."""

    patient: str
    grantee: str
    scope: str | bytes
    action: int
    purpose: int


@dataclass
class AuditEvent:
    """One line of a patient's audit trail."""

    block: int
    timestamp: int
    tx: str
    log_index: int
    event: str
    fields: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "block": self.block,
            "timestamp": self.timestamp,
            "tx": self.tx,
            "log_index": self.log_index,
            "event": self.event,
            **self.fields,
        }


class ConsentClient(ContractClient):
    """Client of ConsentRegistry. Scopes are labels ("Observation", "category:laboratory",
    "*") or 32-byte ids; actions and purposes accept names or bitmasks."""

    contract_name = "ConsentRegistry"

    def transact(self, method: str, *args: Any, sender: Any | None = None, **tx: Any) -> Any:
        """As `ContractClient.transact`; an AccessControl refusal names the missing role."""
        try:
            return super().transact(method, *args, sender=sender, **tx)
        except ContractRevert as err:
            raise _named_roles(err) from err

    def call(self, method: str, *args: Any, **kw: Any) -> Any:
        try:
            return super().call(method, *args, **kw)
        except ContractRevert as err:
            raise _named_roles(err) from err

    # ------------------------------------------------------------------ consent

    def grant(
        self,
        patient: Any,
        grantee: Any,
        scope: str | bytes,
        actions: Any = "read",
        purposes: Any = "TREAT",
        start: int = 0,
        end: int = OPEN_END,
        *,
        deny: bool = False,
        sender: Any = None,
    ) -> Any:
        """Set a permit (or deny) provision; returns the receipt."""
        method = "deny" if deny else "grant"
        return self.transact(
            method,
            _addr(patient),
            _addr(grantee),
            scope_code(scope),
            actions_mask(actions),
            purposes_mask(purposes),
            int(start),
            int(end),
            sender=sender,
        )

    def apply(self, grants: Iterable[Grant], sender: Any = None) -> list[Any]:
        """Write grants (e.g. imported from FHIR) one transaction each."""
        return [
            self.grant(
                g.patient,
                g.grantee,
                g.scope_id,
                g.actions,
                g.purposes,
                g.start,
                g.end,
                deny=g.deny,
                sender=sender,
            )
            for g in grants
        ]

    def revoke(
        self,
        patient: Any,
        grantee: Any,
        scope: str | bytes,
        *,
        deny: bool = False,
        sender: Any = None,
    ) -> Any:
        """Remove the permit (or, with `deny`, the deny) provision. New accesses stop at once;
        data the grantee already decrypted cannot be recalled."""
        method = "liftDeny" if deny else "revoke"
        return self.transact(
            method, _addr(patient), _addr(grantee), scope_code(scope), sender=sender
        )

    def provision(
        self, patient: Any, grantee: Any, scope: str | bytes
    ) -> tuple[Grant | None, Grant | None]:
        """The stored (permit, deny) of a key; None where absent."""
        permit, denial = self.call("provisionOf", _addr(patient), _addr(grantee), scope_code(scope))
        label = scope_label(scope_code(scope), extra=[scope] if isinstance(scope, str) else [])
        return (
            self._grant(patient, grantee, label, permit, False),
            self._grant(patient, grantee, label, denial, True),
        )

    @staticmethod
    def _grant(patient: Any, grantee: Any, scope: str, stored: Any, deny: bool) -> Grant | None:
        actions, purposes, start, end = (int(x) for x in stored)
        if actions == 0:
            return None
        return Grant(_addr(patient), _addr(grantee), scope, actions, purposes, start, end, deny)

    def check(
        self, patient: Any, grantee: Any, scope: str | bytes, action: Any, purpose: Any
    ) -> bool:
        """Whether `grantee` may do `action` on `scope` of `patient` for `purpose`, as the
        chain answers at its LAST BLOCK's time. On an idle chain that time lags the wall
        clock: use `check_now` to also apply the wall clock."""
        return bool(
            self.call(
                "hasAccess",
                _addr(patient),
                _addr(grantee),
                scope_code(scope),
                actions_mask(action),
                purpose_index(purpose),
            )
        )

    def check_now(
        self,
        patient: Any,
        grantee: Any,
        scope: str | bytes,
        action: Any,
        purpose: Any,
        *,
        wall_clock: int | None = None,
    ) -> dict[str, Any]:
        """The access answer at the last block's time AND at the wall clock: `allowed` is
        true only when both are (a provision or emergency access that ended since the last
        block is over, whatever an idle chain still says). Also returns both times."""
        import time

        from ape import chain

        now = int(time.time()) if wall_clock is None else int(wall_clock)
        block_time = int(chain.blocks.head.timestamp)
        on_chain = self.check(patient, grantee, scope, action, purpose)
        at_wall = on_chain and self._still_allowed_at(
            patient, grantee, scope, actions_mask(action), purpose_index(purpose), now
        )
        return {
            "allowed": bool(on_chain and at_wall),
            "at_last_block": bool(on_chain),
            "at_wall_clock": bool(at_wall),
            "last_block_time": block_time,
            "wall_clock": now,
        }

    def _still_allowed_at(
        self, patient: Any, grantee: Any, scope: str | bytes, action: int, purpose: int, t: int
    ) -> bool:
        """The contract's rule evaluated off chain at time `t` (on the current state)."""
        who, whom, sid = _addr(patient), _addr(grantee), scope_code(scope)
        if purpose == ETREAT and action & ~3 == 0:
            expires, _ = self.call("emergencyAccess", who, whom)
            if t < int(expires):
                return True
        halves = [self.call("provisionOf", who, whom, sid)]
        if sid != scope_code("*"):
            halves.append(self.call("provisionOf", who, whom, scope_code("*")))
        bit = 1 << purpose

        def matches(stored: Any, every: bool) -> bool:
            acts, purps, start, end = (int(x) for x in stored)
            hit = (acts & action == action) if every else (acts & action != 0)
            return hit and purps & bit != 0 and start <= t < end

        if any(matches(denial, False) for _, denial in halves):
            return False
        return any(matches(permit, True) for permit, _ in halves)

    def check_many(self, checks: Sequence[Check], *, batch: bool = True) -> list[bool]:
        """Answer many access questions at one block. Against an HTTP node the eth_calls go
        out as JSON-RPC batches of RPC_BATCH; `batch=False` (or an in-process chain) sends
        one call per check."""
        payloads = [
            _HAS_ACCESS
            + abi_encode(
                ["address", "address", "bytes32", "uint8", "uint8"],
                [
                    _addr(c.patient),
                    _addr(c.grantee),
                    scope_code(c.scope),
                    actions_mask(c.action),
                    purpose_index(c.purpose),
                ],
            )
            for c in checks
        ]
        uri = _http_uri()
        if not batch or uri is None:
            return [bool(self.call("hasAccess", *self._args(c))) for c in checks]
        return [bool(abi_decode(["bool"], raw)[0]) for raw in self._batched_calls(uri, payloads)]

    @staticmethod
    def _args(c: Check) -> tuple[Any, ...]:
        return (
            _addr(c.patient),
            _addr(c.grantee),
            scope_code(c.scope),
            actions_mask(c.action),
            purpose_index(c.purpose),
        )

    def _batched_calls(self, uri: str, payloads: Sequence[bytes]) -> list[bytes]:
        import httpx
        from ape import chain

        block = hex(chain.blocks.height)
        results: list[bytes] = []
        with httpx.Client(timeout=60) as http:
            for first in range(0, len(payloads), RPC_BATCH):
                chunk = payloads[first : first + RPC_BATCH]
                body = [
                    {
                        "jsonrpc": "2.0",
                        "id": i,
                        "method": "eth_call",
                        "params": [{"to": self.address, "data": "0x" + data.hex()}, block],
                    }
                    for i, data in enumerate(chunk)
                ]
                answers = http.post(uri, json=body).json()
                if not isinstance(answers, list):
                    raise TransactionFailed(f"ConsentRegistry: node refused a batch: {answers}")
                by_id = {a.get("id"): a for a in answers}
                for i in range(len(chunk)):
                    answer = by_id.get(i) or {}
                    if "result" not in answer:
                        raise TransactionFailed(
                            f"ConsentRegistry: batched hasAccess failed: {answer.get('error')}"
                        )
                    results.append(bytes.fromhex(answer["result"].removeprefix("0x")))
        return results

    def is_manager(self, patient: Any, caller: Any) -> bool:
        return bool(self.call("isManager", _addr(patient), _addr(caller)))

    def record_access(
        self,
        patient: Any,
        scope: str | bytes,
        action: Any,
        purpose: Any,
        record_ref: bytes,
        sender: Any = None,
    ) -> Any:
        """Record (as the grantee, the sender) an access it is permitted to make."""
        return self.transact(
            "recordAccess",
            _addr(patient),
            scope_code(scope),
            actions_mask(action),
            purpose_index(purpose),
            bytes(record_ref).rjust(32, b"\0"),
            sender=sender,
        )

    # ------------------------------------------------------------------ EIP-712

    def nonce(self, patient: Any, grantee: Any, scope: str | bytes) -> int:
        """The signature sequence of one provision key: what the next signed change of
        (patient, grantee, scope) must carry. Any change of the key moves it."""
        return int(self.call("signatureNonce", _addr(patient), _addr(grantee), scope_code(scope)))

    def invalidate_signatures(
        self, patient: Any, grantee: Any, scope: str | bytes, sender: Any = None
    ) -> Any:
        """Void every signed but unsent grant/revocation of (patient, grantee, scope)."""
        return self.transact(
            "invalidateSignatures", _addr(patient), _addr(grantee), scope_code(scope), sender=sender
        )

    def sign_grant(
        self,
        signer: Any,
        patient: Any,
        grantee: Any,
        scope: str | bytes,
        actions: Any = "read",
        purposes: Any = "TREAT",
        start: int = 0,
        end: int = OPEN_END,
        *,
        deny: bool = False,
        deadline: int,
        nonce: int | None = None,
        chain_id: int | None = None,
        signer_address: Any = None,
    ) -> SignedPayload:
        """The patient's (or its manager's) EIP-712 signature over a provision.
        `signer_address`: the signing party when it is an ERC-1271 wallet whose key is
        `signer` (default: `signer`'s own address)."""
        terms = {
            "actions": actions_mask(actions),
            "purposes": purposes_mask(purposes),
            "start": int(start),
            "end": int(end),
        }
        return self._sign(
            "provision",
            signer,
            signer_address,
            patient,
            grantee,
            scope,
            deny,
            terms,
            nonce,
            deadline,
            chain_id,
        )

    def sign_revocation(
        self,
        signer: Any,
        patient: Any,
        grantee: Any,
        scope: str | bytes,
        *,
        deny: bool = False,
        deadline: int,
        nonce: int | None = None,
        chain_id: int | None = None,
        signer_address: Any = None,
    ) -> SignedPayload:
        """The patient's (or its manager's) EIP-712 signature over a revocation."""
        return self._sign(
            "revocation",
            signer,
            signer_address,
            patient,
            grantee,
            scope,
            deny,
            {},
            nonce,
            deadline,
            chain_id,
        )

    def typed_data(
        self, kind: str, message: dict[str, Any], chain_id: int | None = None
    ) -> dict[str, Any]:
        """The full EIP-712 typed-data document (as wallets' eth_signTypedData_v4 take it)."""
        chain_id = self.chain_id if chain_id is None else int(chain_id)
        return consent_typed_data(kind, message, chain_id, self.address)

    def _sign(
        self,
        kind: str,
        signer: Any,
        signer_address: Any,
        patient: Any,
        grantee: Any,
        scope: str | bytes,
        deny: bool,
        terms: dict[str, Any],
        nonce: int | None,
        deadline: int,
        chain_id: int | None,
    ) -> SignedPayload:
        """Sign one change of the key (patient, grantee, scope); `terms` are the fields
        between scope and deny (a provision's actions, purposes and period)."""
        party = _addr(signer if signer_address is None else signer_address)
        message = {
            "patient": _addr(patient),
            "grantee": _addr(grantee),
            "scope": scope_code(scope),
            **terms,
            "deny": bool(deny),
            "signer": party,
            "nonce": self.nonce(patient, grantee, scope) if nonce is None else int(nonce),
            "deadline": int(deadline),
        }
        document = self.typed_data(kind, message, chain_id)
        return SignedPayload.sign(signer, document, signer_address=party, format=SIGNED_FORMAT)

    def relay(self, signed: SignedPayload, sender: Any = None) -> Any:
        """Submit a signed provision or revocation (anyone may pay for it)."""
        kind = signed_kind(signed)
        values = signed.message_values()
        struct = tuple(values[name] for name, _ in _kind_of(kind)[1])
        method = "grantBySig" if kind == "provision" else "revokeBySig"
        return self.transact(method, struct, signed.signature, sender=sender)

    # ------------------------------------------------------------------ break-glass

    def note_name(self, kind: str, episode_id: int) -> str:

        return note_name(kind, self.chain_id, self.address, int(episode_id))

    def request_break_glass(
        self,
        patient: Any,
        reason: str | Commitment,
        duration: int,
        sender: Any = None,
        *,
        notes: NoteStore | None = None,
    ) -> int:
        """Ask for emergency access. The reason goes on chain only as a SALTED commitment
        keccak256(salt || text); the text and its salt are kept together in `notes`
        (default `NoteStore()`), file `note_name("reason", episode)`. Returns the episode id."""
        commitment = reason if isinstance(reason, Commitment) else Commitment.of(reason)
        receipt = self.transact(
            "requestBreakGlass", _addr(patient), commitment.digest, int(duration), sender=sender
        )
        episode = int(self.event_from(receipt, "BreakGlassRequested")["episodeId"])
        (notes or NoteStore()).save(
            self.note_name("reason", episode), commitment, episode=episode, kind="reason"
        )
        return episode

    def approve_break_glass(self, episode_id: int, sender: Any = None) -> Any:
        return self.transact("approveBreakGlass", int(episode_id), sender=sender)

    def cancel_break_glass(self, episode_id: int, sender: Any = None) -> Any:
        """Withdraw a pending request (its clinician, a privacy officer or the admin)."""
        return self.transact("cancelBreakGlass", int(episode_id), sender=sender)

    def close_break_glass(self, episode_id: int, sender: Any = None) -> Any:
        """End active emergency access early (its clinician, a privacy officer or the admin)."""
        return self.transact("closeBreakGlass", int(episode_id), sender=sender)

    def review_break_glass(
        self,
        episode_id: int,
        accepted: bool,
        notes_text: str | Commitment,
        sender: Any = None,
        *,
        notes: NoteStore | None = None,
    ) -> Any:
        """Record the privacy officer's review; the notes go on chain only as a salted
        commitment, kept with their salt in `notes` (file `note_name("review", episode)`)."""
        commitment = notes_text if isinstance(notes_text, Commitment) else Commitment.of(notes_text)
        receipt = self.transact(
            "reviewBreakGlass", int(episode_id), bool(accepted), commitment.digest, sender=sender
        )
        (notes or NoteStore()).save(
            self.note_name("review", episode_id), commitment, episode=int(episode_id), kind="review"
        )
        return receipt

    def verify_note(self, episode_id: int, kind: str, commitment: Commitment) -> bool:
        """Whether `commitment` (text + salt) opens the episode's on-chain reason/review."""
        e = self.episode(episode_id)
        return commitment.verify(e["reason_hash" if kind == "reason" else "review_hash"])

    def episode(self, episode_id: int) -> dict[str, Any]:
        """One episode; `UnknownEpisode` when no episode has this id."""
        e = self.call("episode", int(episode_id))
        if int(e.status) == 0:
            count = int(self.call("episodeCount"))
            raise UnknownEpisode(
                f"no break-glass episode {int(episode_id)} on ConsentRegistry {self.address} "
                f"(episodes are 1..{count})"
                if count
                else f"no break-glass episode {int(episode_id)}: none requested yet"
            )
        return {
            "episode": int(episode_id),
            "patient": str(e.patient),
            "clinician": str(e.clinician),
            "reason_hash": "0x" + bytes(e.reasonHash).hex(),
            "duration": int(e.duration),
            "approvals": int(e.approvals),
            "status": STATUS[int(e.status)],
            "requested_at": int(e.requestedAt),
            "expires_at": int(e.expiresAt),
            "review_hash": "0x" + bytes(e.reviewHash).hex(),
        }

    def awaiting_review(self) -> int:
        return int(self.call("awaitingReview"))

    def episodes_awaiting_review(self, from_block: int = 0) -> list[dict[str, Any]]:
        """Activated episodes without a review yet (from events, confirmed by state)."""
        logs = self._logs("BreakGlassActivated", from_block=from_block)
        episodes = sorted({int(log.args["episodeId"]) for log in logs})
        return [e for e in (self.episode(i) for i in episodes) if e["status"] == "active"]

    # ------------------------------------------------------------------ audit

    def _logs(
        self,
        names: str | Sequence[str],
        where: dict[str, Any] | None = None,
        from_block: int = 0,
        to_block: int | None = None,
    ) -> list[Event]:
        """This registry's `names` events whose arguments match `where`, in chain order,
        through the SDK's one event reader (paged, window adapted to the node; an index
        database when one is configured)."""
        return reader_for_contracts(self.contract).read(
            from_block, to_block, names=names, where=where
        )

    def audit(self, patient: Any, from_block: int = 0) -> list[AuditEvent]:
        """A patient's full trail: grants, denies, revocations, recorded accesses and every
        break-glass step (request, approvals, activation, closing, review), in chain order."""
        logs = self._logs(PATIENT_EVENTS, {"patient": _addr(patient)}, from_block)
        episodes = sorted({int(log.args.get("episodeId", 0)) for log in logs} - {0})
        if episodes:
            logs += self._logs(EPISODE_EVENTS, {"episodeId": episodes}, from_block)
        stamps = self._timestamps({log.block_number for log in logs})
        events = [self._audit_event(log, stamps) for log in logs]
        events.sort(key=lambda e: (e.block, e.log_index))
        return events

    def _timestamps(self, blocks: set[int]) -> dict[int, int]:
        from ape import chain

        return {n: int(chain.blocks[n].timestamp) for n in sorted(blocks)}

    @staticmethod
    def _audit_event(log: Event, stamps: dict[int, int]) -> AuditEvent:
        fields: dict[str, Any] = {}
        for name, value in log.args.items():
            if name in ("deny", "accepted"):
                fields[name] = bool(value)
            elif name == "scope":
                fields["scope"] = scope_label(bytes(value))
            elif name in ("actions", "action"):
                fields[name] = "|".join(action_names(int(value)))
            elif name == "purposes":
                fields[name] = "|".join(purpose_names(int(value)))
            elif name == "purpose":
                fields[name] = purpose_names(1 << int(value))[0] if int(value) < 32 else int(value)
            elif name == "end" and int(value) == OPEN_END:
                fields[name] = None
            elif isinstance(value, bytes | bytearray):
                fields[name] = "0x" + bytes(value).hex()
            elif isinstance(value, bool | int):
                fields[name] = value
            else:
                fields[name] = str(value)
        return AuditEvent(
            block=log.block_number,
            timestamp=stamps[log.block_number],
            tx=log.tx_hash,
            log_index=log.log_index,
            event=log.name,
            fields=fields,
        )

    def grants_of(self, patient: Any, from_block: int = 0) -> list[Grant]:
        """The patient's current provisions: keys found in events, state read from chain."""
        return self._provisions({"patient": _addr(patient)}, from_block)

    def grants_to(self, grantee: Any, from_block: int = 0) -> list[Grant]:
        """The current provisions naming `grantee`, of every patient (a provider's view:
        who let me see what); keys found in events, state read from chain."""
        return self._provisions({"grantee": _addr(grantee)}, from_block)

    def _provisions(self, where: dict[str, str], from_block: int) -> list[Grant]:
        # The events (served by the index when one is configured) only say which
        # (patient, grantee, scope) keys ever had a provision; the state says what stands.
        logs = self._logs(("ConsentGranted", "ConsentDenied"), where, from_block)
        keys = sorted(
            {(str(log.args["patient"]), str(log.args["grantee"]), bytes(log.args["scope"]))
             for log in logs}
        )  # fmt: skip
        grants: list[Grant] = []
        for patient, grantee, scope in keys:
            permit, denial = self.provision(patient, grantee, scope)
            grants += [g for g in (permit, denial) if g is not None]
        return grants


def _named_roles(err: ContractRevert) -> MedchainError:
    """AccessControl refusals carry a role hash; name the role instead."""
    if "neededRole" not in err.arguments:
        return err
    arguments = dict(err.arguments)
    arguments["neededRole"] = role_name(bytes(arguments["neededRole"]))
    return ContractRevert(err.contract, err.error_name, arguments)


def audit_csv(events: Sequence[AuditEvent]) -> str:
    """The audit trail as CSV: fixed columns first, then every field seen."""
    base = ["block", "timestamp", "tx", "log_index", "event"]
    extra: list[str] = []
    for event in events:
        for name in event.fields:
            if name not in extra:
                extra.append(name)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=base + extra, lineterminator="\n")
    writer.writeheader()
    for event in events:
        writer.writerow({k: ("" if v is None else v) for k, v in event.to_json().items()})
    return out.getvalue()


def _http_uri() -> str | None:
    """The connected node's HTTP JSON-RPC URI, or None for in-process chains."""
    from ape import chain

    provider = chain.provider
    if in_process_chain(provider.web3):  # no HTTP node to batch calls to
        return None
    for attr in ("http_uri", "uri"):
        try:
            uri = getattr(provider, attr, None)
        except Exception:
            uri = None
        if isinstance(uri, str) and uri.startswith("http"):
            return uri
    return None


class ConsentRequired(InvalidInput):
    """The grantee has no current read consent for the record's scope: no key is delivered."""


def deliver_record_key(
    consent: ConsentClient,
    records: Any,
    record_id: bytes,
    *,
    patient: Any,
    patient_key: Any,
    grantee: Any,
    recipient: Any,
    purpose: Any = "TREAT",
    sender: Any = None,
) -> Any:
    """On a read grant, seal the record's data key to the grantee's DID key-agreement key
    (`medchain.records.Records.share`) - only after checking on chain that the grantee may
    read the record's scope for `purpose`. Returns the envelope CID. Revoking later stops
    further deliveries; it cannot take back a key already delivered."""
    anchor = records.client.record(record_id)
    scope = bytes(anchor.scope) if hasattr(anchor, "scope") else scope_code(anchor.scope_name)
    if not consent.check(patient, grantee, scope, "read", purpose):
        raise ConsentRequired(
            f"{_addr(grantee)} may not read {scope_label(scope)} of {_addr(patient)} for "
            f"{purpose}: grant consent first"
        )
    return records.share(
        record_id, holder=patient, private_key=patient_key, recipient=recipient, sender=sender
    )
