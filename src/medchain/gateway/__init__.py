"""A FHIR R4 REST gateway that enforces on-chain consent (FastAPI, served by uvicorn).

Every read is checked live on chain (`ConsentRegistry.hasAccess` for the record's
patient, its scope = resource type, action read, and the purpose of use from the
`X-Purpose-Of-Use` header), recorded on chain (`ConsentRegistry.recordAccess`, sent with
the requester's own service-account key: the contract takes the grantee from msg.sender,
so a relayer cannot record on someone's behalf), and only then decrypted, in this
process, with the key envelope the patient delivered to the requester. The indexer
(`medchain.indexer`) lists candidates; it may lag, the consent check never does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

from eth_utils import to_checksum_address

from medchain.consent.codes import PURPOSES, actions_mask, purpose_index, scope_id, scope_label
from medchain.consent.fhir import export_consent
from medchain.consent.model import OPEN_END, Grant, address_of
from medchain.crypto import EnvelopeContext, decrypt, unwrap_key
from medchain.errors import ContractRevert, InvalidInput, MedchainError
from medchain.gateway.auth import ClientRegistration, Scope, TokenService
from medchain.gateway.chain import Chain
from medchain.identity.did import address_of_public_key, format_did
from medchain.indexer import Indexer
from medchain.records import Journal, Records, recipients_for, scope_name
from medchain.storage import ContentStore
from medchain.storage.cid import CID

__all__ = [
    "FHIR_JSON",
    "RECORD_TYPES",
    "FhirError",
    "Gateway",
    "Requester",
    "outcome",
    "random_key",
]

FHIR_JSON = "application/fhir+json"
RECORD_TYPES = (
    "Observation",
    "DiagnosticReport",
    "Condition",
    "MedicationRequest",
    "ServiceRequest",
    "DocumentReference",
)
DATE_FIELDS = ("effectiveDateTime", "issued", "recordedDate", "onsetDateTime", "authoredOn",
               "date", "effectivePeriod")  # fmt: skip
DEFAULT_COUNT, MAX_COUNT = 10, 100
ZERO32 = b"\0" * 32


class FhirError(MedchainError):
    """A refusal with its HTTP status and FHIR issue code (becomes an OperationOutcome)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code


def outcome(code: str, message: str, severity: str = "error") -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": " ".join(message.split())}],
    }


@dataclass
class Requester:
    client: ClientRegistration
    scopes: list[Scope]
    purpose: str

    @property
    def address(self) -> str:
        return self.client.address

    def need(self, resource: str, perm: str) -> None:
        if not any(s.allows(resource, perm) for s in self.scopes):
            raise FhirError(
                403, "forbidden",
                f"token scopes {' '.join(map(str, self.scopes)) or '(none)'} do not allow "
                f"'{perm}' on {resource}",
            )  # fmt: skip


class Gateway:
    """The consent-enforcing core behind the HTTP routes (usable without HTTP)."""

    def __init__(
        self,
        chain: Chain,
        store: ContentStore,
        indexer: Indexer,
        clients: list[ClientRegistration],
        *,
        journal_dir: Path | None = None,
        token_ttl: int = 300,
    ):
        self.chain = chain
        self.store = store
        self.indexer = indexer
        self.clients = {c.did.lower(): c for c in clients}
        self.tokens = TokenService(self.clients, self._auth_addresses, ttl=token_ttl)
        self.registry = chain.address("RecordRegistry")
        self.journal = Journal(journal_dir)
        self._index_lock = threading.Lock()

    # -- identity ------------------------------------------------------------------------

    @functools.cached_property
    def _resolver(self) -> Any:
        """One resolver for the gateway's life (building one asks the node for the
        registry's code), on the gateway's own web3: no ape in the request path."""
        from medchain.identity.resolver import DIDResolver

        return DIDResolver(self.chain.web3, self.chain.address("DIDRegistry"), self.chain.chain_id)

    def _auth_addresses(self, did: str) -> set[str]:
        resolution = self._resolver.resolve(did, ld_context=False)
        doc = resolution.did_document or {}
        if resolution.did_document_metadata.get("deactivated"):
            return set()
        wanted = set(doc.get("authentication", []))
        out: set[str] = set()
        for method in doc.get("verificationMethod", []):
            if method.get("id") not in wanted:
                continue
            if "blockchainAccountId" in method:
                out.add(to_checksum_address(method["blockchainAccountId"].split(":")[-1]))
            elif "publicKeyHex" in method:
                out.add(address_of_public_key(bytes.fromhex(method["publicKeyHex"])))
        return out

    # -- helpers -------------------------------------------------------------------------

    def requester(self, authorization: str | None, purpose: str | None) -> Requester:
        client, scopes = self.tokens.check(authorization)
        if not purpose:
            raise FhirError(400, "required", "X-Purpose-Of-Use header is required (e.g. TREAT)")
        if purpose not in PURPOSES:
            raise FhirError(
                400, "value", f"X-Purpose-Of-Use '{purpose}' is not a PurposeOfUse code"
            )
        return Requester(client, scopes, purpose)

    def sync_index(self) -> None:
        with self._index_lock:
            self.indexer.sync()

    def follow_index(self, stop: threading.Event, poll: float = 1.0) -> None:
        """Keep the index near the head between requests (searches also sync first)."""
        while not stop.is_set():
            # the node may be away: searches report it; try again next round
            with contextlib.suppress(MedchainError):
                self.sync_index()
            stop.wait(poll)

    def _patient(self, value: str | None) -> str:
        if not value:
            raise FhirError(400, "required", "search needs the patient parameter")
        tail = value.split("/")[-1]
        try:
            return address_of(tail, "patient")
        except InvalidInput as exc:
            raise FhirError(400, "value", str(exc)) from None

    def _consent(self, patient: str, who: Requester, scope: str, action: str) -> None:
        """Live consent check; 403 naming the missing consent."""
        allowed = self.chain.call(
            "ConsentRegistry", "hasAccess", patient, who.address, scope_id(scope),
            actions_mask(action), purpose_index(who.purpose),
        )  # fmt: skip
        if not allowed:
            raise FhirError(
                403, "forbidden",
                f"no {action} consent: patient {patient} has not granted {who.address} "
                f"{action} on {scope} for purpose {who.purpose} (ConsentRegistry.hasAccess is "
                "false; break-glass needs ETREAT inside an active episode)",
            )  # fmt: skip

    def _log(self, patient: str, who: Requester, scope: str, action: str, ref: bytes) -> str:
        try:
            return self.chain.send(
                who.client.eth_key, "ConsentRegistry", "recordAccess", patient, scope_id(scope),
                actions_mask(action), purpose_index(who.purpose), ref.rjust(32, b"\0"),
            )  # fmt: skip
        except ContractRevert as exc:  # consent changed between check and log
            raise FhirError(403, "forbidden", f"access not recorded, so not given: {exc}") from None

    def _anchor(self, rid: bytes) -> dict[str, Any]:
        if not self.chain.call("RecordRegistry", "exists", rid):
            raise FhirError(404, "not-found", f"no record 0x{rid.hex()}")
        view = self.chain.call("RecordRegistry", "getRecord", rid)
        erased = int(self.chain.call("RecordRegistry", "erasedAt", rid))
        patient, scope = str(view[0]), bytes(view[5])
        # RecordView: patient, author, anchoredAt, version, schemaVersion, scope, cid, hash, ...
        return {
            "patient": to_checksum_address(patient), "author": str(view[1]),
            "anchored_at": int(view[2]), "version": int(view[3]), "schema": int(view[4]),
            "scope": scope_name(scope), "cid": CID.from_bytes(bytes(view[6])),
            "hash": bytes(view[7]), "erased": erased,
        }  # fmt: skip

    def _decrypt(self, rid: bytes, anchor: dict[str, Any], who: Requester) -> dict[str, Any]:
        env = bytes(self.chain.call("RecordRegistry", "envelopeOf", rid, who.address))
        if not env:
            raise FhirError(
                403, "forbidden",
                f"record 0x{rid.hex()} has no key envelope for {who.address}: consent allows the "
                "read but the patient has not delivered the record key",
            )  # fmt: skip
        context = EnvelopeContext(rid, anchor["schema"], self.chain.chain_id, self.registry)
        data_key = unwrap_key(self.store.cat(CID.from_bytes(env)), who.client.x25519_key, context)
        ciphertext = self.store.cat(anchor["cid"])
        if hashlib.sha256(ciphertext).digest() != anchor["hash"]:
            raise FhirError(
                500, "exception", f"ciphertext of 0x{rid.hex()} does not match its anchor"
            )
        resource = json.loads(decrypt(ciphertext, data_key, context))
        resource["id"] = "0x" + rid.hex()
        resource.setdefault("meta", {})["versionId"] = str(anchor["version"])
        return cast(dict[str, Any], resource)

    @staticmethod
    def _rid(text: str) -> bytes:
        try:
            raw = bytes.fromhex(text.removeprefix("0x"))
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise FhirError(
                400, "value", f"resource id '{text}' is not a 0x-prefixed 32-byte record id"
            )
        return raw

    # -- records -------------------------------------------------------------------------

    def read(self, rtype: str, rid_text: str, who: Requester) -> dict[str, Any]:
        who.need(rtype, "r")
        rid = self._rid(rid_text)
        anchor = self._anchor(rid)
        if anchor["scope"] != rtype:
            raise FhirError(404, "not-found", f"record {rid_text} is not a {rtype}")
        if anchor["erased"]:
            raise FhirError(410, "deleted", f"record {rid_text} was erased on request")
        self._consent(anchor["patient"], who, rtype, "read")
        self._log(anchor["patient"], who, rtype, "read", rid)
        return self._decrypt(rid, anchor, who)

    def search(
        self, rtype: str, params: dict[str, str], who: Requester, base: str
    ) -> dict[str, Any]:
        who.need(rtype, "s")
        count = _int_param(params, "_count", DEFAULT_COUNT, 1, MAX_COUNT)
        offset = _int_param(params, "_offset", 0, 0, 10**9)
        known = {"patient", "subject", "category", "code", "date", "_id", "_count", "_offset"}
        unknown = sorted(set(params) - known)
        if unknown:
            raise FhirError(
                400, "not-supported", f"search parameter(s) {', '.join(unknown)} not supported"
            )
        if "_id" in params:
            ids = [self._rid(i) for i in params["_id"].split(",")]
            anchors = [(rid, self._anchor(rid)) for rid in ids]
            patients = {a["patient"] for _, a in anchors}
            if len(patients) > 1:
                raise FhirError(400, "value", "_id values name records of different patients")
            patient = self._patient(
                params.get("patient") or params.get("subject") or next(iter(patients), None)
            )
            candidates = [
                (r, a) for r, a in anchors if a["patient"] == patient and a["scope"] == rtype
            ]
        else:
            patient = self._patient(params.get("patient") or params.get("subject"))
            self.sync_index()
            erased = {
                e["args"]["recordId"] for e in self.indexer.events("RecordErased", patient=patient)
            }
            rows = self.indexer.records_of(patient)
            superseded = {r["args"]["supersedes"] for r in rows}
            candidates = []
            for row in rows:
                rid_hex = row["args"]["recordId"]
                if rid_hex in erased or rid_hex in superseded:
                    continue
                if (
                    bytes.fromhex(row["args"]["scope"][2:]).rstrip(b"\0").decode(errors="replace")
                    != rtype
                ):
                    continue
                rid = bytes.fromhex(rid_hex[2:])
                candidates.append((rid, self._anchor(rid)))
        self._consent(patient, who, rtype, "read")
        matched = []
        for rid, anchor in candidates:
            if anchor["erased"]:
                continue
            try:
                resource = self._decrypt(rid, anchor, who)
            except FhirError:
                continue  # no key delivered for this record: not released
            if _matches(resource, params):
                matched.append((rid, resource))
        page = matched[offset : offset + count]
        for rid, _ in page:
            self._log(patient, who, rtype, "read", rid)
        query = {k: v for k, v in params.items() if k not in ("_offset",)}
        links = [
            {"relation": "self", "url": f"{base}{rtype}?{urlencode({**query, '_offset': offset})}"}
        ]
        if offset + count < len(matched):
            links.append({"relation": "next",
                          "url": f"{base}{rtype}?{urlencode({**query, '_offset': offset + count})}"})  # fmt: skip
        if offset > 0:
            links.append({"relation": "previous",
                          "url": f"{base}{rtype}?{urlencode({**query, '_offset': max(0, offset - count)})}"})  # fmt: skip
        return {
            "resourceType": "Bundle", "type": "searchset", "total": len(matched), "link": links,
            "entry": [{"fullUrl": f"{base}{rtype}/{r['id']}", "resource": r,
                       "search": {"mode": "match"}} for _, r in page],
        }  # fmt: skip

    def create(self, rtype: str, resource: dict[str, Any], who: Requester) -> dict[str, Any]:
        who.need(rtype, "c")
        if resource.get("resourceType") != rtype:
            raise FhirError(400, "invalid", f"resourceType must be {rtype}")
        ref = (resource.get("subject") or resource.get("patient") or {}).get("reference")
        if not ref:
            raise FhirError(400, "required", f"{rtype}.subject.reference must name the patient")
        patient = self._patient(ref)
        if not self.chain.call("RecordRegistry", "canWrite", patient, who.address, scope_id(rtype)):
            raise FhirError(
                403, "forbidden",
                f"no write consent: patient {patient} has not granted {who.address} write on "
                f"{rtype} for TREAT (RecordRegistry.canWrite is false)",
            )  # fmt: skip
        body = dict(resource)
        body.pop("id", None)
        recipients = recipients_for(patient, self._resolver)
        from medchain.records import Recipient

        mine = _x25519_public(who.client.x25519_key)
        if all(r.address != who.address for r in recipients):
            recipients.append(Recipient(who.address, mine, "gateway"))
        records = Records(cast(Any, _RegistryRef(self.registry)), self.store,
                          journal=self.journal, chain_id=self.chain.chain_id)  # fmt: skip
        entry = records.prepare(
            json.dumps(body, sort_keys=True).encode(), patient=patient, scope=rtype,
            recipients=recipients, author=who.address,
        )  # fmt: skip
        records.store_prepared(entry)  # the store-and-confirm step of a put; anchored below
        request = (patient, bytes.fromhex(entry.salt[2:]), scope_id(rtype), entry.schema_version,
                   CID.parse(entry.cid).to_bytes(), bytes.fromhex(entry.content_hash[2:]), ZERO32)  # fmt: skip
        envelopes = [(e["recipient"], CID.parse(e["cid"]).to_bytes()) for e in entry.envelopes]
        self.chain.send(who.client.eth_key, "RecordRegistry", "anchorRecord", request, envelopes)
        self.journal.finish(entry.record_id)
        body["id"] = entry.record_id
        body.setdefault("meta", {})["versionId"] = "1"
        return body

    # -- consent and audit ---------------------------------------------------------------

    def consent(self, patient_text: str, who: Requester) -> dict[str, Any]:
        who.need("Consent", "r")
        patient = self._patient(patient_text)
        self._consent(patient, who, "Consent", "read")
        self.sync_index()
        keys = sorted({(e["args"]["grantee"], e["args"]["scope"])
                       for e in self.indexer.consent_events_of(patient)})  # fmt: skip
        grants: list[Grant] = []
        for grantee, scope_hex in keys:
            scope = bytes.fromhex(scope_hex[2:])
            permit, denial = self.chain.call(
                "ConsentRegistry", "provisionOf", patient, grantee, scope
            )
            for stored, deny in ((permit, False), (denial, True)):
                acts, purps, start, end = (int(x) for x in stored)
                if acts:
                    grants.append(Grant(patient, grantee, scope_label(scope), acts, purps,
                                        start, end if end else OPEN_END, deny))  # fmt: skip
        self._log(patient, who, "Consent", "read", ZERO32)
        resource = export_consent(grants, patient=patient, chain_id=self.chain.chain_id)
        resource["id"] = patient.lower()
        return resource

    def audit(self, params: dict[str, str], who: Requester, base: str) -> dict[str, Any]:
        who.need("AuditEvent", "s")
        patient = self._patient(params.get("patient") or params.get("entity"))
        self._consent(patient, who, "AuditEvent", "read")
        self.sync_index()
        rows = self.indexer.accesses_of(patient)
        stamps: dict[int, int] = {}
        entries = []
        for row in rows:
            block = row["block"]
            if block not in stamps:
                stamps[block] = int(self.chain.web3.eth.get_block(block)["timestamp"])
            entries.append({"fullUrl": f"{base}AuditEvent/{row['tx']}-{row['log_index']}",
                            "resource": _audit_event(row, stamps[block], self.chain.chain_id),
                            "search": {"mode": "match"}})  # fmt: skip
        self._log(patient, who, "AuditEvent", "read", ZERO32)
        return {"resourceType": "Bundle", "type": "searchset", "total": len(entries),
                "link": [{"relation": "self", "url": f"{base}AuditEvent?{urlencode(params)}"}],
                "entry": entries}  # fmt: skip


class _RegistryRef:
    """What `Records.prepare` needs of a registry client: its address."""

    def __init__(self, address: str):
        self.address = address


def _x25519_public(private: bytes) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


def _int_param(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    if name not in params:
        return default
    try:
        value = int(params[name])
    except ValueError:
        raise FhirError(400, "value", f"{name} must be an integer") from None
    if not low <= value <= high:
        raise FhirError(400, "value", f"{name} must be between {low} and {high}")
    return value


def _codings(value: Any) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value] if value else []
    return [c for item in items for c in (item or {}).get("coding", [])]


def _token_match(codings: list[dict[str, Any]], wanted: str) -> bool:
    for alternative in wanted.split(","):
        system, _, code = alternative.rpartition("|")
        for c in codings:
            if c.get("code") == code and (not system or c.get("system") == system):
                return True
    return False


def _when(resource: dict[str, Any]) -> str | None:
    for name in DATE_FIELDS:
        value = resource.get(name)
        if isinstance(value, dict):
            value = value.get("start")
        if isinstance(value, str):
            return value
    return None


def _parse_date(text: str) -> dt.datetime:
    text = text.replace("Z", "+00:00")
    if len(text) == 4:
        text += "-01-01"
    elif len(text) == 7:
        text += "-01"
    parsed = dt.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _date_match(value: str | None, wanted: str) -> bool:
    if value is None:
        return False
    prefix = wanted[:2] if wanted[:2] in ("eq", "ne", "gt", "lt", "ge", "le") else "eq"
    target = wanted[2:] if wanted[:2] == prefix else wanted
    try:
        have, want = _parse_date(value), _parse_date(target)
    except ValueError:
        raise FhirError(400, "value", f"date '{wanted}' is not a FHIR date") from None
    if prefix == "eq":
        return value.startswith(target) or have == want
    if prefix == "ne":
        return not (value.startswith(target) or have == want)
    return {"gt": have > want, "lt": have < want, "ge": have >= want, "le": have <= want}[prefix]


def _matches(resource: dict[str, Any], params: dict[str, str]) -> bool:
    if "category" in params and not _token_match(
        _codings(resource.get("category")), params["category"]
    ):
        return False
    if "code" in params and not _token_match(_codings(resource.get("code")), params["code"]):
        return False
    return not ("date" in params and not _date_match(_when(resource), params["date"]))


def _audit_event(row: dict[str, Any], timestamp: int, chain_id: int) -> dict[str, Any]:
    args = row["args"]
    purpose = int(args["purpose"])
    recorded = dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat().replace("+00:00", "Z")
    episode = int(args.get("episodeId", 0))
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": f"{row['tx']}-{row['log_index']}",
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"},
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": "read"}],
        "action": "R",
        "recorded": recorded,
        "outcome": "0",
        "purposeOfEvent": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
            "code": PURPOSES[purpose] if purpose < len(PURPOSES) else str(purpose)}]}],
        "agent": [{"who": {"identifier": {"system": "urn:ietf:rfc:3986",
                                          "value": format_did(args["grantee"], chain_id)}},
                   "requestor": True}],
        "source": {"observer": {"display": f"ConsentRegistry AccessRecorded, tx {row['tx']}"}},
        "entity": [
            {"what": {"identifier": {"system": "urn:ietf:rfc:3986",
                                     "value": format_did(args["patient"], chain_id)}},
             "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1"}},
            {"what": {"identifier": {"system": "urn:medchain:record", "value": args["recordRef"]}},
             "description": scope_label(bytes.fromhex(args["scope"][2:]))},
        ],
    }  # fmt: skip
    if episode:
        resource["extension"] = [
            {"url": "urn:medchain:break-glass-episode", "valueInteger": episode}
        ]
    return resource


def random_key() -> bytes:
    return os.urandom(32)
