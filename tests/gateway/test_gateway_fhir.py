"""The FHIR gateway on uvicorn against anvil, driven by fhirpy (a FHIR client from PyPI):
consent-gated reads, denied reads, revocation, purpose mismatch, paging, create, audit."""

from __future__ import annotations

import httpx
import pytest
from fhirpy.base.exceptions import ForbiddenError, OperationOutcome

from support.gateway import fhir, observation, token

pytestmark = pytest.mark.anvil


def test_metadata_is_a_capability_statement(env):
    answer = httpx.get(env["base"] + "metadata")
    assert answer.headers["content-type"].startswith("application/fhir+json")
    body = answer.json()
    assert body["resourceType"] == "CapabilityStatement" and body["fhirVersion"] == "4.0.1"
    assert {r["type"] for r in body["rest"][0]["resource"]} >= {
        "Observation",
        "Consent",
        "AuditEvent",
    }


def test_allowed_read_decrypts_and_is_logged(env, provider_token):
    client = fhir(env, provider_token)
    rid = env["ids"][0]
    before = len(env["consent"].audit(env["patient"]))
    resource = client.reference("Observation", rid).to_resource()
    assert resource["id"] == rid
    assert resource["code"]["text"] == "HbA1c"
    trail = env["consent"].audit(env["patient"])
    assert len(trail) == before + 1
    logged = trail[-1]
    assert logged.event == "AccessRecorded" and logged.fields["recordRef"] == rid
    assert logged.fields["grantee"] == str(env["roles"]["provider"].address)


def test_denied_read_names_the_missing_consent(env):
    bearer = token(env["base"], env["did"]["researcher"], env["keys"]["researcher"])
    answer = httpx.get(f"{env['base']}Observation/{env['ids'][0]}",
                       headers={"Authorization": f"Bearer {bearer}", "X-Purpose-Of-Use": "TREAT"})  # fmt: skip
    assert answer.status_code == 403
    issue = answer.json()["issue"][0]
    assert answer.json()["resourceType"] == "OperationOutcome" and issue["code"] == "forbidden"
    assert "no read consent" in issue["diagnostics"] and "Observation" in issue["diagnostics"]
    with pytest.raises(ForbiddenError):
        fhir(env, bearer).reference("Observation", env["ids"][0]).to_resource()


def test_purpose_mismatch_and_bad_input(env, provider_token):
    with pytest.raises(ForbiddenError, match="HRESCH"):
        fhir(env, provider_token, "HRESCH").reference("Observation", env["ids"][0]).to_resource()
    bad = httpx.get(f"{env['base']}Observation/not-an-id",
                    headers={"Authorization": f"Bearer {provider_token}", "X-Purpose-Of-Use": "TREAT"})  # fmt: skip
    assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"
    nopurpose = httpx.get(f"{env['base']}Observation/{env['ids'][0]}",
                          headers={"Authorization": f"Bearer {provider_token}"})  # fmt: skip
    assert (
        nopurpose.status_code == 400
        and "X-Purpose-Of-Use" in nopurpose.json()["issue"][0]["diagnostics"]
    )
    unauth = httpx.get(
        f"{env['base']}Observation/{env['ids'][0]}", headers={"X-Purpose-Of-Use": "TREAT"}
    )
    assert unauth.status_code == 401 and unauth.json()["resourceType"] == "OperationOutcome"


def test_forged_assertion_is_refused(env):
    from medchain.gateway.auth import ASSERTION_TYPE, client_assertion

    # signed by the researcher's key but claiming the provider's DID
    forged = client_assertion(
        env["did"]["provider"], env["keys"]["researcher"], f"{env['base']}token"
    )
    answer = httpx.post(f"{env['base']}token", data={
        "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": forged})  # fmt: skip
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    assert "authentication" in answer.json()["error_description"]


def test_search_pages_with_links(env, provider_token):
    client = fhir(env, provider_token)
    search = client.resources("Observation").search(patient=env["patient"], category="laboratory")
    first = search.limit(2).fetch()
    assert len(first) == 2
    everything = search.limit(2).fetch_all()
    assert sorted(r["code"]["text"] for r in everything) == [
        "Cholesterol",
        "Glucose",
        "HbA1c",
        "Hemoglobin",
    ]
    raw = httpx.get(f"{env['base']}Observation", params={"patient": env["patient"], "_count": 2},
                    headers={"Authorization": f"Bearer {provider_token}", "X-Purpose-Of-Use": "TREAT"}).json()  # fmt: skip
    assert raw["total"] == 5 and {link["relation"] for link in raw["link"]} == {"self", "next"}
    dated = (
        client.resources("Observation")
        .search(patient=env["patient"], date="ge2025-04-01")
        .fetch_all()
    )
    assert sorted(r["code"]["text"] for r in dated) == ["Cholesterol", "Hemoglobin"]
    coded = (
        client.resources("Observation")
        .search(patient=env["patient"], code="http://loinc.org|8867-4")
        .fetch_all()
    )
    assert [r["code"]["text"] for r in coded] == ["Heart rate"]


def test_post_then_read_back(env, provider_token):
    client = fhir(env, provider_token)
    body = observation(env["patient"], "laboratory", "1558-6", "Fasting glucose", "2025-06-01")
    created = client.resource("Observation", **body)
    created.save()
    assert created["id"].startswith("0x") and len(created["id"]) == 66
    back = client.reference("Observation", created["id"]).to_resource()
    assert back["code"]["text"] == "Fasting glucose"
    anchor = env["records"].client.record(bytes.fromhex(created["id"][2:]))
    assert (
        anchor.author == str(env["roles"]["provider"].address)
        and anchor.scope_name == "Observation"
    )
    # the patient reads it with the SDK: it was sealed to the patient's DID key too
    mine = env["records"].get(bytes.fromhex(created["id"][2:]), recipient=env["patient"],
                              private_key=env["x25519"]["patient"])  # fmt: skip
    assert b"Fasting glucose" in mine


def test_post_without_write_consent_is_refused(env):
    bearer = token(env["base"], env["did"]["researcher"], env["keys"]["researcher"])
    answer = httpx.post(f"{env['base']}Observation",
                        json=observation(env["patient"], "laboratory", "1", "x", "2025-01-01"),
                        headers={"Authorization": f"Bearer {bearer}", "X-Purpose-Of-Use": "TREAT",
                                 "Content-Type": "application/fhir+json"})  # fmt: skip
    assert answer.status_code == 403
    assert "scopes" in answer.json()["issue"][0]["diagnostics"]  # researcher has no .c scope


def test_consent_resource_from_chain(env, provider_token):
    client = fhir(env, provider_token)
    consent = client.reference("Consent", env["patient"].lower()).to_resource()
    assert consent["resourceType"] == "Consent" and consent["status"] == "active"
    actors = {
        p["actor"][0]["reference"]["identifier"]["value"] for p in consent["provision"]["provision"]
    }
    assert env["did"]["provider"] in actors


def test_audit_events_after_reads(env, provider_token):
    client = fhir(env, provider_token)
    client.reference("Observation", env["ids"][1]).to_resource()
    events = client.resources("AuditEvent").search(patient=env["patient"]).fetch_all()
    refs = [e["entity"][1]["what"]["identifier"]["value"] for e in events]
    assert env["ids"][1] in refs
    assert all(e["purposeOfEvent"][0]["coding"][0]["code"] == "TREAT" for e in events)


def test_revoked_grant_stops_the_next_read(env):
    # a fresh grant to the researcher, a read, a revoke, and the very next read is refused
    researcher = env["roles"]["researcher"]
    env["consent"].grant(env["patient"], researcher, "Observation", "read", "HRESCH")
    bearer = token(env["base"], env["did"]["researcher"], env["keys"]["researcher"])
    client = fhir(env, bearer, "HRESCH")
    assert (
        client.reference("Observation", env["ids"][2]).to_resource()["code"]["text"] == "Heart rate"
    )
    env["consent"].revoke(env["patient"], researcher, "Observation")
    with pytest.raises(ForbiddenError, match="no read consent"):
        client.reference("Observation", env["ids"][2]).to_resource()
    with pytest.raises((ForbiddenError, OperationOutcome)):
        client.resources("Observation").search(patient=env["patient"]).fetch()
