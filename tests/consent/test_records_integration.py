"""Consent as RecordRegistry's write authorizer (wired by the deploy spec): a provider
anchors a record for a patient only while it holds write consent for treatment on that
record type."""

from __future__ import annotations

import os

import ape

from medchain.codec import scope_code
from medchain.consent import ConsentClient
from medchain.storage.unixfs import compute_cid

OBS = scope_code("Observation")


def _request(patient) -> tuple:
    salt = os.urandom(32)  # the record id is keccak256(abi.encode(author, patient, salt))
    cid = compute_cid(salt * 2).to_bytes()
    return (str(patient.address), salt, OBS, 1, cid, os.urandom(32), b"\0" * 32)


def test_write_consent_lets_a_provider_anchor(deployed, patient, lab, chain):
    records = deployed.contracts["RecordRegistry"]
    consent = ConsentClient(deployed.contracts["ConsentRegistry"])
    assert records.writeAuthorizer() == consent.address
    request = _request(patient)
    with ape.reverts(records.RecordUnauthorizedWriter, patient=patient, writer=lab, scope=OBS):
        records.anchorRecord(request, [], sender=lab)
    end = chain.pending_timestamp + 3600
    consent.grant(patient, lab, "Observation", "write", "TREAT", 0, end, sender=patient)
    records.anchorRecord(request, [], sender=lab)
    assert records.exists(records.recordIdOf(lab, patient, request[1]))
    consent.revoke(patient, lab, "Observation", sender=patient)
    with ape.reverts(records.RecordUnauthorizedWriter, patient=patient, writer=lab, scope=OBS):
        records.anchorRecord(_request(patient), [], sender=lab)
