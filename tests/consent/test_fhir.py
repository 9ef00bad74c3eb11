"""FHIR R4 Consent import/export: realistic resources become grants, grants export as
valid Consent resources (fhir.resources R4B models), round trips keep the meaning, and
what has no on-chain form is refused with the element named."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from medchain.consent import (
    OPEN_END,
    Grant,
    UnsupportedConsent,
    export_consent,
    import_consent,
    purposes_mask,
)
from medchain.consent.codes import ALL_ACTIONS, ALL_PURPOSES
from medchain.consent.fhir import validate
from medchain.errors import InvalidInput

PATIENT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
GP = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
LAB = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
RESEARCHER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
ACT = "http://terminology.hl7.org/CodeSystem/consentaction"
POU = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
ROLE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"


def ts(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp())


def actor(address: str, *, by_reference: bool = False, role: str = "PRCP") -> dict:
    ref = (
        {"reference": f"Practitioner/did:ethr:{address}"}
        if by_reference
        else {"identifier": {"system": "urn:ietf:rfc:3986", "value": f"did:ethr:0x539:{address}"}}
    )
    return {"role": {"coding": [{"system": ROLE, "code": role}]}, "reference": ref}


def consent(provision: dict, **extra) -> dict:
    resource = {
        "resourceType": "Consent",
        "id": "example",
        "text": {
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml">consent</div>',
        },
        "status": "active",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"identifier": {"system": "urn:ietf:rfc:3986", "value": f"did:ethr:{PATIENT}"}},
        "dateTime": "2025-03-01T09:30:00+01:00",
        "organization": [{"display": "Riverside Family Practice"}],
        "policyRule": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}
            ]
        },
        "provision": provision,
    }
    resource.update(extra)
    return resource


# Opt-in to the family doctor: everything, for treatment, for one year.
OPT_IN_GP = consent(
    {
        "type": "permit",
        "period": {"start": "2025-03-01T00:00:00Z", "end": "2026-03-01T00:00:00Z"},
        "actor": [actor(GP)],
        "purpose": [{"system": POU, "code": "TREAT"}],
    }
)

# Research use of lab results, but never further disclosure.
RESEARCH_LABS = consent(
    {
        "type": "permit",
        "actor": [actor(RESEARCHER, by_reference=True)],
        "action": [
            {"coding": [{"system": ACT, "code": "access"}]},
            {"coding": [{"system": ACT, "code": "disclose"}]},
        ],
        "purpose": [{"system": POU, "code": "HRESCH"}, {"system": POU, "code": "CLINTRCH"}],
        "class": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "laboratory",
            }
        ],
        "provision": [
            {"type": "deny", "action": [{"coding": [{"system": ACT, "code": "disclose"}]}]},
        ],
    },
    scope={
        "coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "research"}
        ]
    },
)

# Nothing is shared except: the lab may write reports and observations during an episode,
# and the GP may read diagnostic reports (date-only period).
DEFAULT_DENY = consent(
    {
        "type": "deny",
        "provision": [
            {
                "type": "permit",
                "period": {"start": "2025-04-01T08:00:00Z", "end": "2025-04-15T08:00:00Z"},
                "actor": [actor(LAB)],
                "action": [{"coding": [{"system": ACT, "code": "correct"}]}],
                "purpose": [{"system": POU, "code": "TREAT"}],
                "class": [
                    {"system": "http://hl7.org/fhir/resource-types", "code": "DiagnosticReport"},
                    {"system": "http://hl7.org/fhir/resource-types", "code": "Observation"},
                ],
            },
            {
                "type": "permit",
                "period": {"start": "2025-04-01", "end": "2025-12-31"},
                "actor": [actor(GP, by_reference=True)],
                "action": [{"coding": [{"system": ACT, "code": "access"}]}],
                "class": [
                    {"system": "http://hl7.org/fhir/resource-types", "code": "DiagnosticReport"}
                ],
            },
        ],
    }
)

# A carer-managed consent: the GP and the lab may read everything for care coordination,
# except mental-health documents (a code system of the organisation's own).
CARER = consent(
    {
        "type": "permit",
        "actor": [actor(GP), actor(LAB, role="IRCP")],
        "action": [{"coding": [{"system": ACT, "code": "access"}]}],
        "purpose": [{"system": POU, "code": "COC"}, {"system": POU, "code": "TREAT"}],
        "provision": [
            {
                "type": "deny",
                "class": [
                    {
                        "system": "https://example.org/fhir/CodeSystem/record-class",
                        "code": "mental-health",
                    }
                ],
            }
        ],
    },
    performer=[{"display": "Jane Doe (carer, power of attorney)"}],
)

EXAMPLES = {
    "opt_in_gp": OPT_IN_GP,
    "research_labs": RESEARCH_LABS,
    "default_deny": DEFAULT_DENY,
    "carer": CARER,
}


def test_opt_in_gp():
    (grant,) = import_consent(OPT_IN_GP)
    assert grant == Grant(
        PATIENT, GP, "*", ALL_ACTIONS, purposes_mask("TREAT"), ts("2025-03-01"),
        ts("2026-03-01") + 1,  # Period.end is inclusive: 2026-03-01T00:00:00Z is in it
    )  # fmt: skip


def test_research_labs_inherit_and_deny():
    permit, deny = import_consent(RESEARCH_LABS)
    assert permit.scope == deny.scope == "category:laboratory"
    assert permit.actions == 1 | 4 and not permit.deny
    assert deny.deny and deny.actions == 4 and deny.grantee == RESEARCHER
    assert deny.purposes == permit.purposes == purposes_mask("HRESCH,CLINTRCH")


def test_default_deny_with_exceptions():
    grants = import_consent(DEFAULT_DENY)
    assert {(g.grantee, g.scope, g.actions) for g in grants} == {
        (LAB, "DiagnosticReport", 2),
        (LAB, "Observation", 2),
        (GP, "DiagnosticReport", 1),
    }
    gp = next(g for g in grants if g.grantee == GP)
    assert (
        gp.start == ts("2025-04-01") and gp.end == ts("2026-01-01") and gp.purposes == ALL_PURPOSES
    )


def test_carer_hashed_class_and_two_actors():
    grants = import_consent(CARER)
    assert len(grants) == 4
    denies = [g for g in grants if g.deny]
    assert {g.scope for g in denies} == {
        "https://example.org/fhir/CodeSystem/record-class|mental-health"
    }


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_round_trip_preserves_meaning(name):
    grants = import_consent(EXAMPLES[name])
    exported = export_consent(grants, when=ts("2025-05-01"))
    assert validate(exported) == exported  # a valid R4 Consent
    again = import_consent(exported)
    assert sorted(again, key=repr) == sorted(grants, key=repr)
    # and exporting again is stable
    assert export_consent(again, when=ts("2025-05-01")) == exported


def test_export_of_open_ended_and_hashed_scopes():
    grants = [
        Grant(PATIENT, GP, "0x" + "ab" * 32, 3, purposes_mask("TREAT")),
        Grant(PATIENT, GP, "category:vital-signs", 1, ALL_PURPOSES, 0, OPEN_END, deny=True),
    ]
    resource = export_consent(grants, when=0)
    permit, deny = resource["provision"]["provision"]
    assert "period" not in permit and permit["class"][0]["system"] == "urn:medchain:scope"
    assert deny["type"] == "deny" and "purpose" not in deny
    assert import_consent(resource) == grants


def _with(resource: dict, path: list, value) -> dict:
    changed = copy.deepcopy(resource)
    target = changed
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return changed


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (
            (
                ["provision", "data"],
                [{"meaning": "instance", "reference": {"reference": "Observation/1"}}],
            ),
            "Consent.provision.data is not supported",
        ),
        (
            (
                ["provision", "securityLabel"],
                [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                        "code": "R",
                    }
                ],
            ),
            "Consent.provision.securityLabel is supported only on a deny provision",
        ),
        (
            (
                ["provision", "code"],
                [{"coding": [{"system": "http://loinc.org", "code": "718-7"}]}],
            ),
            "Consent.provision.code is not supported",
        ),
        (
            (["provision", "dataPeriod"], {"start": "2020-01-01"}),
            "Consent.provision.dataPeriod is not supported",
        ),
        ((["status"], "draft"), "Consent.status 'draft'"),
        (
            (["provision", "action"], [{"coding": [{"system": ACT, "code": "use"}]}]),
            "Consent.provision.action code 'use' is not supported",
        ),
        (
            (["provision", "purpose"], [{"system": POU, "code": "NOPE"}]),
            "Consent.provision.purpose code 'NOPE'",
        ),
        ((["provision", "actor"], [actor(GP, role="AUT")]), "Consent.provision.actor.role"),
        ((["patient"], {"reference": "Patient/123"}), "Consent.patient must name a did:ethr"),
        (
            (["provision", "provision"], [{"type": "deny", "provision": [{"type": "permit"}]}]),
            "Consent.provision.provision.provision is not supported",
        ),
    ],
)
def test_unsupported_refused_naming_the_element(mutation, message):
    path, value = mutation
    with pytest.raises(UnsupportedConsent, match=message.replace("(", r"\(").replace(".", r"\.")):
        import_consent(_with(OPT_IN_GP, path, value))


def test_permit_for_everyone_refused():
    resource = _with(
        OPT_IN_GP, ["provision"], {"type": "permit", "purpose": [{"system": POU, "code": "TREAT"}]}
    )
    with pytest.raises(UnsupportedConsent, match=r"Consent\.provision\.actor is required"):
        import_consent(resource)


def test_invalid_fhir_refused_by_the_model():
    broken = _with(OPT_IN_GP, ["status"], 42)
    with pytest.raises(InvalidInput, match="invalid FHIR Consent"):
        import_consent(broken)
    with pytest.raises(InvalidInput, match="resourceType"):
        import_consent({"resourceType": "Patient"})


@pytest.mark.parametrize(
    ("start", "end", "first", "after"),
    [  # Period.start: first instant at its precision; Period.end: inclusive at its precision
        ("2025", "2025", "2025-01-01", "2026-01-01"),
        ("2025-02", "2025-12", "2025-02-01", "2026-01-01"),
        ("2025-02-03", "2025-02-03", "2025-02-03", "2025-02-04"),
        ("2025-02-03T10:00:00Z", "2025-02-03T23:59:59Z", "2025-02-03T10:00:00", "2025-02-04"),
        ("2025-02-03T10:00:00+02:00", "2025-02-03T12:00:00.5+02:00", "2025-02-03T08:00:00",
         "2025-02-03T10:00:01"),
    ],
)  # fmt: skip
def test_period_precision_and_inclusive_end(start, end, first, after):
    def at(text: str) -> int:
        return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp())

    resource = _with(OPT_IN_GP, ["provision", "period"], {"start": start, "end": end})
    (grant,) = import_consent(resource)
    assert (grant.start, grant.end) == (at(first), at(after))
    exported = export_consent([grant], when=0)
    assert import_consent(exported) == [grant]  # the inclusive end written back


def test_export_writes_inclusive_period_end():
    day = Grant(PATIENT, GP, "Observation", 1, ALL_PURPOSES, ts("2025-01-01"), ts("2026-01-01"))
    second = Grant(PATIENT, GP, "Condition", 1, ALL_PURPOSES, 0, ts("2026-01-01") + 3600)
    permits = export_consent([day, second], when=0)["provision"]["provision"]
    assert permits[0]["period"] == {"start": "2025-01-01T00:00:00Z", "end": "2025-12-31"}
    assert permits[1]["period"] == {"end": "2026-01-01T00:59:59Z"}


V3 = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


def test_security_label_deny_becomes_a_deny_on_the_label_scope():
    """Everything for treatment except data labelled psychiatry (PSY)."""
    resource = copy.deepcopy(OPT_IN_GP)
    resource["provision"]["provision"] = [
        {"type": "deny", "securityLabel": [{"system": V3, "code": "PSY"}]}
    ]
    permit, deny = sorted(import_consent(resource), key=lambda g: g.deny)
    assert permit.scope == "*" and not permit.deny
    assert deny.deny and deny.scope == f"{V3}|PSY" and deny.grantee == GP
    assert (deny.purposes, deny.start, deny.end) == (permit.purposes, permit.start, permit.end)
    exported = export_consent([permit, deny], when=0)
    labelled = exported["provision"]["provision"][1]
    assert labelled["securityLabel"] == [{"system": V3, "code": "PSY"}] and "class" not in labelled
    assert sorted(import_consent(exported), key=lambda g: g.deny) == [permit, deny]


@pytest.mark.parametrize(
    ("provision", "message"),
    [
        ({"type": "permit", "securityLabel": [{"system": V3, "code": "PSY"}]},
         "Consent.provision.provision.securityLabel is supported only on a deny provision"),
        ({"type": "deny", "securityLabel": [{"system": V3, "code": "PSY"}],
          "class": [{"system": "http://hl7.org/fhir/resource-types", "code": "Observation"}]},
         "Consent.provision.provision.securityLabel together with class is not supported"),
        ({"type": "deny", "securityLabel": [{"system": "http://example.org/labels", "code": "X"}]},
         "Consent.provision.provision.securityLabel 'http://example.org/labels|X' is not supported"),
    ],
)  # fmt: skip
def test_security_labels_without_an_on_chain_form_refused(provision, message):
    resource = copy.deepcopy(OPT_IN_GP)
    resource["provision"]["provision"] = [provision]
    with pytest.raises(UnsupportedConsent, match=message.replace(".", r"\.").replace("|", r"\|")):
        import_consent(resource)


def test_actor_role_from_another_system_refused():
    other = actor(GP)
    other["role"] = {"coding": [{"system": "http://example.org/roles", "code": "PRCP"}]}
    with pytest.raises(UnsupportedConsent, match=r"Consent\.provision\.actor\.role must be coded"):
        import_consent(_with(OPT_IN_GP, ["provision", "actor"], [other]))
