"""ConsentClient: typed access to ConsentRegistry - grants, revocations, checks (single
and JSON-RPC-batched), EIP-712 signing and relaying, break-glass, and the audit trail
rebuilt from events with batched log queries (JSON and CSV)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address

from medchain.client import ContractClient
from medchain.consent.codes import (
    ETREAT,
    action_names,
    actions_mask,
    purpose_index,
    purpose_names,
    purposes_mask,
    scope_id,
    scope_label,
)
from medchain.consent.model import OPEN_END, Grant, address_of
from medchain.consent.notes import Commitment, NoteStore, note_name
from medchain.errors import (
    ContractRevert,
    IntegrityError,
    InvalidInput,
    MedchainError,
    TransactionFailed,
)
from medchain.signing import EIP712_DOMAIN, sign_message

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
        if raw == (b"\0" * 32 if name == "DEFAULT_ADMIN_ROLE" else keccak(text=name)):
            return name
    return "0x" + raw.hex()


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
_HAS_ACCESS = function_signature_to_4byte_selector("hasAccess(address,address,bytes32,uint8,uint8)")

# Events of the audit trail, by where the patient sits among the topics.
PATIENT_TOPIC1 = (
    "ConsentGranted",
    "ConsentDenied",
    "ConsentRevoked",
    "ConsentManagedBy",
    "AccessRecorded",
)
PATIENT_TOPIC2 = (
    "BreakGlassRequested",
    "BreakGlassActivated",
    "BreakGlassCancelled",
    "BreakGlassClosed",
    "BreakGlassReviewed",
)
EPISODE_TOPIC1 = ("BreakGlassApproved",)
LOG_CHUNK_BLOCKS = 5_000  # block span of one eth_getLogs request
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


def _b32(value: Any) -> bytes:
    if isinstance(value, str):
        return scope_id(value)
    return bytes(value)


@dataclass(frozen=True)
class SignedMessage:
    """A typed-data message (SignedProvision or SignedRevocation) and its signature."""

    kind: str  # "provision" | "revocation"
    message: dict[str, Any]
    signature: bytes
    chain_id: int
    verifying_contract: str

    def to_json(self) -> dict[str, Any]:
        msg = {k: ("0x" + v.hex() if isinstance(v, bytes) else v) for k, v in self.message.items()}
        return {
            "kind": self.kind,
            "message": msg,
            "signature": "0x" + self.signature.hex(),
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignedMessage:
        try:
            kind = data["kind"]
            fields = _PROVISION_FIELDS if kind == "provision" else _REVOCATION_FIELDS
            raw = data["message"]
            message: dict[str, Any] = {}
            for name, typ in fields:
                value = raw[name]
                if typ == "bytes32":
                    value = bytes.fromhex(str(value).removeprefix("0x"))
                elif typ == "address":
                    value = to_checksum_address(value)
                elif typ == "bool":
                    value = bool(value)
                else:
                    value = int(value)
                message[name] = value
            return cls(
                kind=kind,
                message=message,
                signature=bytes.fromhex(str(data["signature"]).removeprefix("0x")),
                chain_id=int(data["chainId"]),
                verifying_contract=to_checksum_address(data["verifyingContract"]),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidInput(f"not a signed consent message: {exc}") from exc


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
            _b32(scope),
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
        return self.transact(method, _addr(patient), _addr(grantee), _b32(scope), sender=sender)

    def provision(
        self, patient: Any, grantee: Any, scope: str | bytes
    ) -> tuple[Grant | None, Grant | None]:
        """The stored (permit, deny) of a key; None where absent."""
        permit, denial = self.call("provisionOf", _addr(patient), _addr(grantee), _b32(scope))
        label = scope_label(_b32(scope), extra=[scope] if isinstance(scope, str) else [])
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
                _b32(scope),
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
        who, whom, sid = _addr(patient), _addr(grantee), _b32(scope)
        if purpose == ETREAT and action & ~3 == 0:
            expires, _ = self.call("emergencyAccess", who, whom)
            if t < int(expires):
                return True
        halves = [self.call("provisionOf", who, whom, sid)]
        if sid != scope_id("*"):
            halves.append(self.call("provisionOf", who, whom, scope_id("*")))
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
                    _b32(c.scope),
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
            _b32(c.scope),
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
            _b32(scope),
            actions_mask(action),
            purpose_index(purpose),
            bytes(record_ref).rjust(32, b"\0"),
            sender=sender,
        )

    # ------------------------------------------------------------------ EIP-712

    def nonce(self, patient: Any, grantee: Any, scope: str | bytes) -> int:
        """The signature sequence of one provision key: what the next signed change of
        (patient, grantee, scope) must carry. Any change of the key moves it."""
        return int(self.call("signatureNonce", _addr(patient), _addr(grantee), _b32(scope)))

    def invalidate_signatures(
        self, patient: Any, grantee: Any, scope: str | bytes, sender: Any = None
    ) -> Any:
        """Void every signed but unsent grant/revocation of (patient, grantee, scope)."""
        return self.transact(
            "invalidateSignatures", _addr(patient), _addr(grantee), _b32(scope), sender=sender
        )

    def _domain(self) -> dict[str, Any]:
        from ape import chain

        return {
            "name": EIP712_NAME,
            "version": EIP712_VERSION,
            "chainId": chain.provider.chain_id,
            "verifyingContract": self.address,
        }

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
    ) -> SignedMessage:
        """The patient's (or its manager's) EIP-712 signature over a provision."""
        message = {
            "patient": _addr(patient),
            "grantee": _addr(grantee),
            "scope": _b32(scope),
            "actions": actions_mask(actions),
            "purposes": purposes_mask(purposes),
            "start": int(start),
            "end": int(end),
            "deny": bool(deny),
            "signer": _addr(signer),
            "nonce": self.nonce(patient, grantee, scope) if nonce is None else int(nonce),
            "deadline": int(deadline),
        }
        return self._sign(signer, "provision", message, chain_id)

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
    ) -> SignedMessage:
        """The patient's (or its manager's) EIP-712 signature over a revocation."""
        message = {
            "patient": _addr(patient),
            "grantee": _addr(grantee),
            "scope": _b32(scope),
            "deny": bool(deny),
            "signer": _addr(signer),
            "nonce": self.nonce(patient, grantee, scope) if nonce is None else int(nonce),
            "deadline": int(deadline),
        }
        return self._sign(signer, "revocation", message, chain_id)

    def typed_data(
        self, kind: str, message: dict[str, Any], chain_id: int | None = None
    ) -> dict[str, Any]:
        """The full EIP-712 typed-data document (as wallets' eth_signTypedData_v4 take it)."""
        primary, fields = (
            ("SignedProvision", _PROVISION_FIELDS)
            if kind == "provision"
            else ("SignedRevocation", _REVOCATION_FIELDS)
        )
        domain = self._domain()
        if chain_id is not None:
            domain["chainId"] = chain_id
        return {
            "types": {
                "EIP712Domain": EIP712_DOMAIN,
                primary: [{"name": n, "type": t} for n, t in fields],
            },
            "primaryType": primary,
            "domain": domain,
            "message": message,
        }

    def _sign(
        self, signer: Any, kind: str, message: dict[str, Any], chain_id: int | None
    ) -> SignedMessage:
        from eth_account.messages import encode_typed_data

        typed = self.typed_data(kind, message, chain_id)
        signable = encode_typed_data(full_message=typed)
        signature = sign_message(signer, signable)
        return SignedMessage(
            kind=kind,
            message=message,
            signature=bytes(signature),
            chain_id=typed["domain"]["chainId"],
            verifying_contract=self.address,
        )

    def relay(self, signed: SignedMessage, sender: Any = None) -> Any:
        """Submit a signed provision or revocation (anyone may pay for it)."""
        fields = _PROVISION_FIELDS if signed.kind == "provision" else _REVOCATION_FIELDS
        values = tuple(signed.message[name] for name, _ in fields)
        method = "grantBySig" if signed.kind == "provision" else "revokeBySig"
        return self.transact(method, values, signed.signature, sender=sender)

    # ------------------------------------------------------------------ break-glass

    def note_name(self, kind: str, episode_id: int) -> str:
        from ape import chain

        return note_name(kind, int(chain.provider.chain_id), self.address, int(episode_id))

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
        for log in self.contract.BreakGlassRequested.from_receipt(receipt):
            episode = int(log.episodeId)
            (notes or NoteStore()).save(
                self.note_name("reason", episode), commitment, episode=episode, kind="reason"
            )
            return episode
        raise IntegrityError("requestBreakGlass succeeded without a BreakGlassRequested event")

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
        logs = self._logs(["BreakGlassActivated"], from_block=from_block)
        episodes = sorted({int(log.episodeId) for log in logs})
        return [e for e in (self.episode(i) for i in episodes) if e["status"] == "active"]

    # ------------------------------------------------------------------ audit

    def _topic0(self, names: Iterable[str]) -> list[str]:
        return ["0x" + keccak(text=self._event_abi(n).selector).hex() for n in names]

    def _event_abi(self, name: str) -> Any:
        return self.contract.contract_type.events[name]

    def _logs(
        self,
        names: Sequence[str],
        topics: Sequence[Any] = (),
        from_block: int = 0,
        to_block: int | None = None,
    ) -> list[Any]:
        """Decoded logs of `names` matching `topics` (after topic0), fetched in block chunks
        with one eth_getLogs per chunk for all the event kinds at once."""
        from ape import chain

        provider = chain.provider
        last = chain.blocks.height if to_block is None else to_block
        abis = [self._event_abi(n) for n in names]
        raw: list[dict[str, Any]] = []
        for first in range(from_block, last + 1, LOG_CHUNK_BLOCKS):
            params = {
                "address": self.address,
                "fromBlock": hex(first),
                "toBlock": hex(min(last, first + LOG_CHUNK_BLOCKS - 1)),
                "topics": [self._topic0(names), *topics],
            }
            for log in provider.web3.eth.get_logs(params):  # type: ignore[arg-type]
                raw.append(dict(log))
        return list(provider.network.ecosystem.decode_logs(raw, *abis))

    def audit(self, patient: Any, from_block: int = 0) -> list[AuditEvent]:
        """A patient's full trail: grants, denies, revocations, recorded accesses and every
        break-glass step (request, approvals, activation, closing, review), in chain order."""
        who = _addr(patient)
        topic = "0x" + who[2:].lower().rjust(64, "0")
        logs = self._logs(PATIENT_TOPIC1, [topic], from_block)
        logs += self._logs(PATIENT_TOPIC2, [None, topic], from_block)
        episodes = sorted({int(log.episodeId) for log in logs if hasattr(log, "episodeId")})
        episodes = [e for e in episodes if e]
        if episodes:
            episode_topics = ["0x" + e.to_bytes(32, "big").hex() for e in episodes]
            logs += self._logs(EPISODE_TOPIC1, [episode_topics], from_block)
        stamps = self._timestamps({int(log.block_number) for log in logs})
        events = [self._audit_event(log, stamps) for log in logs]
        events.sort(key=lambda e: (e.block, e.log_index))
        return events

    def _timestamps(self, blocks: set[int]) -> dict[int, int]:
        from ape import chain

        return {n: int(chain.blocks[n].timestamp) for n in sorted(blocks)}

    @staticmethod
    def _audit_event(log: Any, stamps: dict[int, int]) -> AuditEvent:
        fields: dict[str, Any] = {}
        for name, value in dict(log.event_arguments).items():
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
            block=int(log.block_number),
            timestamp=stamps[int(log.block_number)],
            tx=_hex_hash(log.transaction_hash),
            log_index=int(log.log_index),
            event=str(log.event_name),
            fields=fields,
        )

    def grants_of(self, patient: Any, from_block: int = 0) -> list[Grant]:
        """The patient's current provisions: keys found in events, state read from chain."""
        who = _addr(patient)
        topic = "0x" + who[2:].lower().rjust(64, "0")
        logs = self._logs(("ConsentGranted", "ConsentDenied"), [topic], from_block)
        keys = sorted({(str(log.grantee), bytes(log.scope)) for log in logs})
        grants: list[Grant] = []
        for grantee, scope in keys:
            permit, denial = self.provision(who, grantee, scope)
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


def _hex_hash(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    text = str(value)
    return text if text.startswith("0x") else "0x" + text


def _http_uri() -> str | None:
    """The connected node's HTTP JSON-RPC URI, or None for in-process chains."""
    from ape import chain

    provider = chain.provider
    if getattr(provider, "name", "") == "test":  # ape's in-process EthTester: no HTTP node
        return None
    for attr in ("http_uri", "uri"):
        try:
            uri = getattr(provider, attr, None)
        except Exception:
            uri = None
        if isinstance(uri, str) and uri.startswith("http"):
            return uri
    return None


__all__ = [
    "ETREAT",
    "AuditEvent",
    "Check",
    "ConsentClient",
    "SignedMessage",
    "UnknownEpisode",
    "WrongChainDID",
    "audit_csv",
    "role_name",
]


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
    scope = bytes(anchor.scope) if hasattr(anchor, "scope") else scope_id(anchor.scope_name)
    if not consent.check(patient, grantee, scope, "read", purpose):
        raise ConsentRequired(
            f"{_addr(grantee)} may not read {scope_label(scope)} of {_addr(patient)} for "
            f"{purpose}: grant consent first"
        )
    return records.share(
        record_id, holder=patient, private_key=patient_key, recipient=recipient, sender=sender
    )
