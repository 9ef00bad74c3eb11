"""What the gateway tests share besides the fixtures: the sample observations, a bearer
token from the gateway's /token endpoint, and a fhirpy client (imported by the test
modules; conftest.py holds the anvil + gateway fixture)."""

from __future__ import annotations

from typing import Any

import httpx

YEAR = 365 * 24 * 3600
OBSERVATIONS = [
    ("laboratory", "4548-4", "HbA1c", "2025-01-10"),
    ("laboratory", "2345-7", "Glucose", "2025-02-11"),
    ("vital-signs", "8867-4", "Heart rate", "2025-03-12"),
    ("laboratory", "2093-3", "Cholesterol", "2025-04-13"),
    ("laboratory", "718-7", "Hemoglobin", "2025-05-14"),
]


def observation(patient: str, category: str, code: str, text: str, when: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": category}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": code}], "text": text},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": when,
    }  # fmt: skip


def token(base: str, did: str, key: bytes, scope: str = "") -> str:
    from medchain.gateway.auth import ASSERTION_TYPE, client_assertion

    form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(did, key, f"{base}token"), "scope": scope}  # fmt: skip
    answer = httpx.post(f"{base}token", data=form, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def fhir(env: dict[str, Any], bearer: str, purpose: str = "TREAT") -> Any:
    from fhirpy import SyncFHIRClient

    return SyncFHIRClient(env["base"].rstrip("/"), authorization=f"Bearer {bearer}",
                          extra_headers={"X-Purpose-Of-Use": purpose})  # fmt: skip
