"""FHIR R4 Consent <-> on-chain grants.

`import_consent` turns a FHIR R4 Consent resource (JSON) into `Grant`s; `export_consent`
turns a patient's grants back into one Consent resource. Both sides are validated with
the maintained `fhir.resources` models (package `fhir.resources`, module `R4B`: the
Consent resource is unchanged between R4 and R4B).

Mapping (documented in docs/consent.md):
* Consent.patient / provision.actor.reference: a did:ethr identifier or address, given as
  `reference` or as a logical `identifier` (system urn:ietf:rfc:3986);
* provision.type permit/deny -> permit/deny provision; nested provisions (one level) are
  exceptions that inherit the root's actor, class, action and purpose when they omit them,
  and whose period is intersected with the root's;
* provision.action (consentaction): access -> read, correct -> write, disclose -> share;
  absent -> all actions;
* provision.purpose (v3-ActReason PurposeOfUse) -> purpose bits; absent -> all purposes;
* provision.class: resource type (hl7.org/fhir/resource-types), observation category, or
  any `system|code` (hashed); absent -> every scope ("*");
* provision.period: start at its precision (inclusive), end inclusive at its precision
  ("2025-12-31" includes that whole day) -> the chain's [start, end) with end the first
  instant after it; export writes the inclusive end back (a date when it is a day boundary).
DIDs: export writes each party as did:ethr in the form the did:ethr method gives the
chain (`did:ethr:0x<chain id hex>:0x...` off mainnet, `did:ethr:0x...` on chain 1);
import, given the connected chain (`chain_id=`), accepts either form only when it names
that chain (`WrongChainDID` otherwise) and bare addresses as they are.
* provision.securityLabel (HL7 security-label systems) on a deny provision without class
  -> a deny on the label's scope `system|code` (e.g. everything for treatment except data
  labelled PSY); on a permit, or with class, it is refused by name.
Elements that would change the meaning and have no on-chain form are refused, naming
the element (e.g. "Consent.provision.data is not supported").
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from medchain.consent.codes import (
    ACTIONS,
    ALL_ACTIONS,
    ALL_PURPOSES,
    ANY_SCOPE_LABEL,
    OBSERVATION_CATEGORY_SYSTEM,
    PURPOSE_SYSTEM,
    PURPOSES,
    RESOURCE_TYPE_SYSTEM,
    scope_label,
)
from medchain.consent.model import OPEN_END, Grant, address_of, did_of
from medchain.errors import InvalidInput
from medchain.timeutil import iso_time

ACTION_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentaction"
ACTION_CODES = {
    "access": ACTIONS["read"],
    "correct": ACTIONS["write"],
    "disclose": ACTIONS["share"],
}
SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
ACCEPTED_SCOPES = {"patient-privacy", "treatment", "research"}
ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
GRANTEE_ROLES = {"PRCP", "IRCP"}  # primary / information recipient: the party granted access
URI_SYSTEM = "urn:ietf:rfc:3986"
HASHED_SCOPE_SYSTEM = "urn:medchain:scope"

UNSUPPORTED_PROVISION_ELEMENTS = ("data", "code", "dataPeriod")
# Security-label code systems (HL7 Healthcare Privacy and Security Classification): a deny
# on labelled data becomes a deny on the label's own scope `system|code`, which holds when
# records carrying the label are anchored under that scope (docs/consent.md).
LABEL_SYSTEMS = (
    "http://terminology.hl7.org/CodeSystem/v3-ActCode",
    "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
    "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
)


class UnsupportedConsent(InvalidInput):
    """The Consent uses an element that has no on-chain form; the message names it."""


def _consent_model() -> Any:
    from fhir.resources.R4B.consent import Consent

    return Consent


def validate(resource: dict[str, Any] | str) -> dict[str, Any]:
    """Validate a Consent against the FHIR R4(B) model; returns its normalised JSON."""
    from pydantic import ValidationError

    data = json.loads(resource) if isinstance(resource, str) else resource
    if not isinstance(data, dict) or data.get("resourceType") != "Consent":
        raise InvalidInput("not a FHIR Consent resource (resourceType must be 'Consent')")
    try:
        model = _consent_model().model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInput(
            f"invalid FHIR Consent at {where or 'root'}: {first.get('msg')}"
        ) from exc
    return json.loads(model.model_dump_json(by_alias=True, exclude_none=True))


# --------------------------------------------------------------------------- import


# The chain a DID in the resource being imported must name (None: not checked).
_IMPORT_CHAIN: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "_IMPORT_CHAIN", default=None
)


def import_consent(resource: dict[str, Any] | str, *, chain_id: int | None = None) -> list[Grant]:
    """The grants a FHIR R4 Consent expresses. Refuses what it cannot represent.

    With `chain_id` (the connected chain; the CLI always passes it) every did:ethr in the
    resource must name that chain, in either form (`did:ethr:0x...` is chain 1,
    `did:ethr:0x7a69:0x...` chain 31337): another chain's DID raises `WrongChainDID`
    instead of being mapped to the same 20-byte address."""
    token = _IMPORT_CHAIN.set(chain_id)
    try:
        return _import(resource)
    finally:
        _IMPORT_CHAIN.reset(token)


def _import(resource: dict[str, Any] | str) -> list[Grant]:
    data = validate(resource)
    if data.get("modifierExtension"):
        raise UnsupportedConsent("Consent.modifierExtension is not supported")
    status = data.get("status")
    if status != "active":
        raise UnsupportedConsent(
            f"Consent.status '{status}' cannot become grants: only 'active' consents apply"
        )
    scope_codes = {c.get("code") for c in (data.get("scope") or {}).get("coding", [])}
    if scope_codes and not scope_codes & ACCEPTED_SCOPES:
        raise UnsupportedConsent(
            f"Consent.scope {sorted(c for c in scope_codes if c)} is not supported "
            f"(expected one of {sorted(ACCEPTED_SCOPES)})"
        )
    patient = _party(data.get("patient"), "Consent.patient")
    root = data.get("provision")
    if root is None:
        raise UnsupportedConsent("Consent.provision is required: without it nothing is granted")
    _check_provision(root, "Consent.provision")
    base = _Context(patient)
    root_kind = root.get("type") or ("permit" if root.get("actor") else "deny")
    root_ctx = base.refine(root, "Consent.provision", root_kind)
    grants: list[Grant] = []
    if root.get("actor"):
        grants += root_ctx.grants(root.get("type", "permit"), "Consent.provision")
    elif root.get("type", "deny") != "deny" or any(
        root.get(k) for k in ("class", "action", "purpose", "period", "securityLabel")
    ):
        raise UnsupportedConsent(
            "Consent.provision.actor is required on a root provision that permits or restricts "
            "anything: a provision for every actor cannot be stored per grantee"
        )
    for i, child in enumerate(root.get("provision", [])):
        where = f"Consent.provision.provision[{i}]"
        _check_provision(child, where)
        if child.get("provision"):
            raise UnsupportedConsent(
                "Consent.provision.provision.provision is not supported (one level of exceptions)"
            )
        child_type = child.get("type") or _opposite(root.get("type"))
        ctx = root_ctx.refine(child, where, child_type)
        if not ctx.actors:
            raise UnsupportedConsent(f"{where}.actor is required (no actor on it or its parent)")
        grants += ctx.grants(child_type, where)
    return _merge(grants)


def _opposite(kind: str | None) -> str:
    return "permit" if kind in (None, "deny") else "deny"


def _check_provision(provision: dict[str, Any], where: str) -> None:
    for element in UNSUPPORTED_PROVISION_ELEMENTS:
        if provision.get(element):
            raise UnsupportedConsent(f"{_generic(where)}.{element} is not supported")
    if provision.get("modifierExtension"):
        raise UnsupportedConsent(f"{_generic(where)}.modifierExtension is not supported")


def _generic(where: str) -> str:
    """Consent.provision.provision[2] -> Consent.provision.provision (element path)."""
    return ".".join(part.split("[")[0] for part in where.split("."))


class _Context:
    """What a provision inherits from its parent: actors, scopes, actions, purposes, period."""

    def __init__(
        self,
        patient: str,
        actors: tuple[str, ...] = (),
        scopes: tuple[str, ...] = (ANY_SCOPE_LABEL,),
        actions: int = ALL_ACTIONS,
        purposes: int = ALL_PURPOSES,
        start: int = 0,
        end: int = OPEN_END,
    ):
        self.patient, self.actors, self.scopes = patient, actors, scopes
        self.actions, self.purposes, self.start, self.end = actions, purposes, start, end

    def refine(self, provision: dict[str, Any], where: str, kind: str) -> _Context:
        actors = self.actors
        if provision.get("actor"):
            actors = tuple(
                _actor(a, f"{where}.actor[{i}]") for i, a in enumerate(provision["actor"])
            )
        scopes = self.scopes
        if provision.get("class"):
            scopes = tuple(
                _scope(c, f"{where}.class[{i}]") for i, c in enumerate(provision["class"])
            )
        if provision.get("securityLabel"):
            scopes = _labels(provision, where, kind)
        actions = self.actions
        if provision.get("action"):
            actions = 0
            for i, concept in enumerate(provision["action"]):
                actions |= _action(concept, f"{where}.action[{i}]")
        purposes = self.purposes
        if provision.get("purpose"):
            purposes = 0
            for i, coding in enumerate(provision["purpose"]):
                purposes |= _purpose(coding, f"{where}.purpose[{i}]")
        start, end = self.start, self.end
        period = provision.get("period") or {}
        if period.get("start"):
            start = max(start, _seconds(period["start"], f"{where}.period.start"))
        if period.get("end"):
            end = min(end, _seconds(period["end"], f"{where}.period.end", end=True))
        if start >= end:
            raise UnsupportedConsent(f"{where}.period is empty (start is not before end)")
        return _Context(self.patient, actors, scopes, actions, purposes, start, end)

    def grants(self, kind: str, where: str) -> list[Grant]:
        if kind not in ("permit", "deny"):
            raise UnsupportedConsent(f"{where}.type '{kind}' is not supported")
        return [
            Grant(
                patient=self.patient,
                grantee=actor,
                scope=scope,
                actions=self.actions,
                purposes=self.purposes,
                start=self.start,
                end=self.end,
                deny=kind == "deny",
            )
            for actor in self.actors
            for scope in self.scopes
        ]


def _merge(grants: Sequence[Grant]) -> list[Grant]:
    """One provision per (grantee, scope, permit|deny), as the contract stores it."""
    by_key: dict[tuple[str, str, bytes, bool], Grant] = {}
    for grant in grants:
        seen = by_key.get(grant.key)
        if seen is not None and seen != grant:
            kind = "deny" if grant.deny else "permit"
            raise UnsupportedConsent(
                f"Consent.provision has two different {kind} provisions for grantee "
                f"{grant.grantee} and scope {grant.scope}: one slot holds one of each"
            )
        by_key[grant.key] = grant
    return list(by_key.values())


def _party(ref: dict[str, Any] | None, where: str) -> str:
    if not ref:
        raise UnsupportedConsent(f"{where} is required")
    candidates = [ref.get("reference"), (ref.get("identifier") or {}).get("value")]
    for candidate in candidates:
        if candidate:
            tail = candidate.split("/")[-1]
            try:
                address = address_of(tail, where)
            except InvalidInput:
                continue
            _check_chain(tail, where)
            return address
    raise UnsupportedConsent(
        f"{where} must name a did:ethr identifier or Ethereum address "
        "(reference or identifier.value)"
    )


def _check_chain(ref: str, where: str) -> None:
    """A did:ethr must name the chain being imported to (when one is given)."""
    connected = _IMPORT_CHAIN.get()
    if connected is None or not ref.startswith("did:"):
        return
    from medchain.consent.client import WrongChainDID
    from medchain.identity.did import format_did, parse_did

    did = parse_did(ref)
    if did.chain_id != connected:
        raise WrongChainDID(
            f"{_generic(where)} {ref} names an identity on chain {did.chain_id}, but the "
            f"connected chain is {connected}: use {format_did(did.address, connected)} "
            "or the bare address"
        )


def _labels(provision: dict[str, Any], where: str, kind: str) -> tuple[str, ...]:
    """A deny on data carrying security labels -> a deny on each label's scope."""
    element = f"{_generic(where)}.securityLabel"
    if kind != "deny":
        raise UnsupportedConsent(
            f"{element} is supported only on a deny provision (a permit limited to labelled "
            "data has no on-chain form)"
        )
    if provision.get("class"):
        raise UnsupportedConsent(
            f"{element} together with class is not supported (labelled data within a class "
            "has no on-chain scope)"
        )
    scopes = []
    for coding in provision["securityLabel"]:
        system, code = coding.get("system"), coding.get("code")
        if system not in LABEL_SYSTEMS or not code:
            raise UnsupportedConsent(
                f"{element} '{system}|{code}' is not supported (labels from "
                f"{', '.join(LABEL_SYSTEMS)})"
            )
        scopes.append(f"{system}|{code}")
    return tuple(scopes)


def _actor(actor: dict[str, Any], where: str) -> str:
    codes = {
        c.get("code")
        for c in (actor.get("role") or {}).get("coding", [])
        if c.get("system") == ROLE_SYSTEM
    }
    if actor.get("role") and not codes:
        raise UnsupportedConsent(
            f"{_generic(where)}.role must be coded in {ROLE_SYSTEM} "
            f"(grantees are {sorted(GRANTEE_ROLES)})"
        )
    if codes and not codes & GRANTEE_ROLES:
        raise UnsupportedConsent(
            f"{_generic(where)}.role {sorted(c for c in codes if c)} is not supported "
            f"(grantees are {sorted(GRANTEE_ROLES)})"
        )
    return _party(actor.get("reference"), where + ".reference")


def _scope(coding: dict[str, Any], where: str) -> str:
    system, code = coding.get("system"), coding.get("code")
    if not code:
        raise UnsupportedConsent(f"{_generic(where)}.code is required")
    if system == RESOURCE_TYPE_SYSTEM:
        return code
    if system == OBSERVATION_CATEGORY_SYSTEM:
        return f"category:{code}"
    if system == HASHED_SCOPE_SYSTEM:
        return code  # an on-chain scope id exported without a known label
    if not system:
        raise UnsupportedConsent(f"{_generic(where)}.system is required")
    return f"{system}|{code}"


def _action(concept: dict[str, Any], where: str) -> int:
    mask = 0
    for coding in concept.get("coding", []):
        code = coding.get("code")
        if coding.get("system") == ACTION_SYSTEM and code in ACTION_CODES:
            mask |= ACTION_CODES[code]
        else:
            raise UnsupportedConsent(
                f"{_generic(where)} code '{code}' is not supported "
                f"(supported: {', '.join(ACTION_CODES)} from {ACTION_SYSTEM})"
            )
    if not mask:
        raise UnsupportedConsent(f"{_generic(where)} has no coding")
    return mask


def _purpose(coding: dict[str, Any], where: str) -> int:
    code = coding.get("code")
    if coding.get("system") != PURPOSE_SYSTEM or code not in PURPOSES:
        raise UnsupportedConsent(
            f"{_generic(where)} code '{code}' is not a supported PurposeOfUse code "
            f"({PURPOSE_SYSTEM})"
        )
    return 1 << PURPOSES.index(code)


def _seconds(value: str, where: str, *, end: bool = False) -> int:
    """A FHIR dateTime as unix seconds. Period.start is the first instant of the value at
    its precision; Period.end is inclusive at its precision (FHIR: "2012-02-03" includes
    all of that day), so with `end=True` this returns the first instant AFTER it (the
    chain's end is exclusive): "2025" -> 2026-01-01, "2025-12" -> 2026-01-01,
    "2025-12-31" -> 2026-01-01, "2025-12-31T23:59:59Z" -> 2026-01-01T00:00:00Z."""
    try:
        if len(value) == 4:
            parsed = dt.datetime(int(value), 1, 1, tzinfo=dt.UTC)
            after = parsed.replace(year=parsed.year + 1)
        elif len(value) == 7:
            parsed = dt.datetime(int(value[:4]), int(value[5:7]), 1, tzinfo=dt.UTC)
            month = parsed.month % 12 + 1
            after = parsed.replace(year=parsed.year + (parsed.month == 12), month=month)
        elif len(value) == 10:
            parsed = dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)  # midnight UTC
            after = parsed + dt.timedelta(days=1)
        else:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                raise UnsupportedConsent(
                    f"{where} '{value}' has a time but no time zone (FHIR requires one)"
                )
            whole = parsed.replace(microsecond=0)
            after = whole + dt.timedelta(seconds=1)  # inclusive to the second it names
            if parsed.microsecond:
                parsed = whole + dt.timedelta(seconds=1)  # a start rounds up to whole seconds
    except ValueError as exc:
        raise UnsupportedConsent(f"{where} '{value}' is not a FHIR dateTime") from exc
    return max(0, int((after if end else parsed).timestamp()))


def _period_end(seconds: int) -> str:
    """The inclusive FHIR Period.end for the chain's exclusive `seconds`: a date when the
    end is a UTC midnight (the day before, all of it included), else the last second."""
    if seconds % 86400 == 0:
        return dt.datetime.fromtimestamp(seconds - 86400, dt.UTC).date().isoformat()
    return iso_time(seconds - 1)


# --------------------------------------------------------------------------- export


def _reference(address: str, chain_id: int | None) -> dict[str, Any]:
    from medchain.identity.did import format_did

    value = did_of(address) if chain_id is None else format_did(address, chain_id)
    return {"identifier": {"system": URI_SYSTEM, "value": value}}


def _class(scope: str) -> list[dict[str, Any]]:
    label = scope_label(scope, extra=[scope]) if not scope.startswith("0x") else scope_label(scope)
    if label == ANY_SCOPE_LABEL:
        return []
    if label.startswith("category:"):
        return [{"system": OBSERVATION_CATEGORY_SYSTEM, "code": label.removeprefix("category:")}]
    if label.startswith("0x"):
        return [{"system": HASHED_SCOPE_SYSTEM, "code": label}]
    if "|" in label:
        system, code = label.split("|", 1)
        return [{"system": system, "code": code}]
    return [{"system": RESOURCE_TYPE_SYSTEM, "code": label}]


def _provision(grant: Grant, chain_id: int | None) -> dict[str, Any]:
    provision: dict[str, Any] = {
        "type": "deny" if grant.deny else "permit",
        "actor": [
            {
                "role": {"coding": [{"system": ROLE_SYSTEM, "code": "PRCP"}]},
                "reference": _reference(grant.grantee, chain_id),
            }
        ],
    }
    period = {}
    if grant.start:
        period["start"] = iso_time(grant.start)
    if grant.end != OPEN_END:
        period["end"] = _period_end(grant.end)
    if period:
        provision["period"] = period
    if grant.actions != ALL_ACTIONS:
        provision["action"] = [
            {"coding": [{"system": ACTION_SYSTEM, "code": code}]}
            for code, bit in ACTION_CODES.items()
            if grant.actions & bit
        ]
    if grant.purposes != ALL_PURPOSES:
        provision["purpose"] = [
            {"system": PURPOSE_SYSTEM, "code": code}
            for i, code in enumerate(PURPOSES)
            if grant.purposes >> i & 1
        ]
    classes = _class(grant.scope)
    if grant.deny and classes and classes[0]["system"] in LABEL_SYSTEMS:
        provision["securityLabel"] = classes  # a deny on a label's scope: labelled data
    elif classes:
        provision["class"] = classes
    return provision


def export_consent(
    grants: Iterable[Grant],
    *,
    patient: str | None = None,
    when: int | None = None,
    chain_id: int | None = None,
) -> dict[str, Any]:
    """One FHIR R4 Consent for a patient's grants: a root deny (nothing is shared unless
    permitted) with one nested provision per on-chain permit or deny. Validated.

    Parties are written as did:ethr of `chain_id` (the chain the grants live on):
    `did:ethr:0x<chain id hex>:0x...` for any chain but mainnet, as the did:ethr method
    specifies; without `chain_id`, the mainnet form `did:ethr:0x...`."""
    grants = list(grants)
    patients = {g.patient for g in grants} | ({address_of(patient)} if patient else set())
    if len(patients) != 1:
        raise InvalidInput("export_consent needs the grants of exactly one patient")
    (who,) = patients
    stamp = when if when is not None else int(dt.datetime.now(dt.UTC).timestamp())
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "status": "active",
        "scope": {"coding": [{"system": SCOPE_SYSTEM, "code": "patient-privacy"}]},
        "category": [
            {
                "coding": [
                    {"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}
                ]
            }
        ],
        "patient": _reference(who, chain_id),
        "dateTime": iso_time(stamp),
        "policyRule": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}
            ]
        },
        "provision": {"type": "deny"},
    }
    if grants:
        resource["provision"]["provision"] = [_provision(g, chain_id) for g in grants]
    return validate(resource)
