"""Break-glass through the gateway, driven by fhirpy: a clinician the patient has not (or
no longer) consented to is refused with a 403 OperationOutcome; inside an active episode
(request + 2-of-3 approvals) a read with purpose ETREAT is served and logged on chain with
the episode; the same read with another purpose, after the episode is closed, or after it
expired is refused; the patient's webhook hears of the activation (BreakGlassActivated)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fhirpy.base.exceptions import ForbiddenError

from support.gateway import Receiver, fhir

pytestmark = pytest.mark.anvil
EPISODE_SECONDS = 3600


def _read(env: dict[str, Any], bearer: str, purpose: str) -> httpx.Response:
    return httpx.get(f"{env['base']}Observation/{env['ids'][0]}", timeout=60,
                     headers={"Authorization": f"Bearer {bearer}", "X-Purpose-Of-Use": purpose})  # fmt: skip


def _refused(answer: httpx.Response, *words: str) -> None:
    assert answer.status_code == 403, answer.text
    body = answer.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "forbidden"
    for word in words:
        assert word in body["issue"][0]["diagnostics"], body


def _activate(env: dict[str, Any]) -> int:
    """The provider (a clinician) asks for emergency access; two of three approvers agree."""
    from medchain.consent.notes import NoteStore

    roles, consent = env["roles"], env["consent"]
    episode = consent.request_break_glass(
        env["patient"], "unconscious in ED, allergy history needed", EPISODE_SECONDS,
        sender=roles["provider"], notes=NoteStore(env["tmp"] / "notes"),
    )  # fmt: skip
    for approver in ("approver1", "approver2"):
        consent.approve_break_glass(episode, sender=roles[approver])
    assert consent.episode(episode)["status"] == "active"
    return episode


@pytest.fixture(scope="module")
def no_consent(env):
    """The patient withdraws the provider's grants: from here on only break-glass helps."""
    for scope in ("Observation", "Consent", "AuditEvent"):
        env["consent"].revoke(env["patient"], env["roles"]["provider"], scope)
    return env


def test_a_clinician_without_consent_is_refused(no_consent, provider_token):
    env = no_consent
    _refused(_read(env, provider_token, "TREAT"), "no read consent", "Observation")
    _refused(_read(env, provider_token, "ETREAT"), "ETREAT", "active episode")
    with pytest.raises(ForbiddenError):
        fhir(env, provider_token, "ETREAT").reference("Observation", env["ids"][0]).to_resource()


def test_etreat_read_inside_an_episode_is_served_logged_and_the_patient_notified(
    no_consent, provider_token
):
    from medchain.indexer import Indexer
    from medchain.notify import Deliverer, subscribe, verify

    env = no_consent
    indexer = Indexer.for_book(env["web3"], env["book"], f"sqlite:///{env['tmp'] / 'bg.db'}")
    indexer.sync()  # a subscription hears of the events indexed after it
    hook = subscribe(indexer.engine, env["patient"], "http://127.0.0.1:1/unused", ["break-glass"])
    receiver = Receiver(refusals=0)
    try:
        with indexer.engine.begin() as conn:  # the receiver's port is known only now
            conn.exec_driver_sql(
                "UPDATE subscriptions SET url = ? WHERE id = ?", (receiver.url, hook["id"])
            )
        episode = _activate(env)

        resource = (
            fhir(env, provider_token, "ETREAT")
            .reference("Observation", env["ids"][0])
            .to_resource()
        )
        assert resource["id"] == env["ids"][0] and resource["code"]["text"] == "HbA1c"
        logged = env["consent"].audit(env["patient"])[-1]
        assert logged.event == "AccessRecorded" and logged.fields["recordRef"] == env["ids"][0]
        assert logged.fields["purpose"] == "ETREAT" and logged.fields["episodeId"] == episode
        assert logged.fields["grantee"] == str(env["roles"]["provider"].address)
        # the episode opens emergency treatment only, not any other purpose
        _refused(_read(env, provider_token, "TREAT"), "no read consent")

        indexer.sync()
        report = Deliverer(indexer.engine).run_once()
        assert report.delivered == 1, report
        (request,) = receiver.requests
        assert verify(hook["secret"], request["headers"], request["body"])
        params = {
            p["name"]: p for p in json.loads(request["body"])["entry"][0]["resource"]["parameter"]
        }
        assert params["topic"]["valueCanonical"] == "urn:medchain:topic:break-glass"
        assert params["recipient"]["valueString"] == env["patient"]
        event = params["notification-event"]["part"][1]["valueReference"]["reference"]
        assert event == f"episode/{episode}"

        env["consent"].close_break_glass(episode, sender=env["roles"]["provider"])
        _refused(_read(env, provider_token, "ETREAT"), "ETREAT", "active episode")
    finally:
        receiver.close()


def test_an_expired_episode_no_longer_opens_reads(no_consent, provider_token):
    env = no_consent
    episode = _activate(env)
    assert _read(env, provider_token, "ETREAT").status_code == 200
    expires = env["consent"].episode(episode)["expires_at"]
    web3 = env["web3"]
    web3.provider.make_request("evm_setNextBlockTimestamp", [expires])
    web3.provider.make_request("evm_mine", [])
    _refused(_read(env, provider_token, "ETREAT"), "ETREAT", "active episode")
