"""Demo step: the patient stores an encrypted lab result (a FHIR Observation) on IPFS,
anchors its CID on chain, reads it back and verifies it without the key."""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from medchain.demo import DemoContext
from medchain.records import NoEnvelope, Recipient, Records, RecordsClient, recipients_for
from medchain.storage import open_store

LAB_RESULT: dict[str, Any] = {
    "resourceType": "Observation",
    "status": "final",
    "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                              "code": "laboratory"}]}],
    "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4",
                         "display": "Hemoglobin A1c/Hemoglobin.total in Blood"}]},
    "subject": {"display": "Demo Patient Janet Marker-Q7"},
    "effectiveDateTime": "2026-11-20T08:30:00Z",
    "valueQuantity": {"value": 5.4, "unit": "%", "system": "http://unitsofmeasure.org",
                      "code": "%"},
    "note": [{"text": "PHI-MARKER-7Q2Z fasting sample, no anomalies"}],
}  # fmt: skip


def _patient_key(ctx: DemoContext) -> Any:
    """The patient's X25519 key from the identity step, or a fresh one published here."""
    keys = ctx.shared.setdefault("keys", {})
    key = keys.get("patient")
    if key is None:
        key = keys["patient"] = X25519PrivateKey.generate()
    return key if isinstance(key, X25519PrivateKey) else X25519PrivateKey.from_private_bytes(key)


def recipient_for_key(
    ctx: DemoContext, account: Any, key: X25519PrivateKey
) -> tuple[Recipient, bool]:
    """The recipient to seal to for `account` holding `key`: the key-agreement key its DID
    publishes (identity step) when that is this key, else the local key; and whether the
    chain listed it."""
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    try:
        published = recipients_for(account, ctx.contracts["DIDRegistry"])
    except NoEnvelope:
        published = []
    match = next((r for r in published if r.public_key == public), None)
    if match is not None:
        return match, True
    return Recipient(str(account.address), public, f"did:ethr:{account.address}#enc"), False


def run(ctx: DemoContext) -> None:
    console = ctx.console
    patient = ctx.accounts["patient"]
    if ctx.store is None:
        ctx.store = open_store()  # embedded under $MEDCHAIN_HOME/ipfs unless MEDCHAIN_IPFS_API
    client = RecordsClient(ctx.contracts["RecordRegistry"], sender=patient)
    records = Records(client, ctx.store)
    key = _patient_key(ctx)
    # The patient's DID lists its key-agreement key (identity step): seal to what the
    # chain says, and check it is the key this process holds.
    me, published = recipient_for_key(ctx, patient, key)
    if not published:
        console.print("[yellow]patient DID lists no matching X25519 key; using the local key")
    payload = json.dumps(LAB_RESULT, sort_keys=True).encode()

    result = records.put(payload, patient=patient, scope="Observation", recipients=[me])
    anchor = client.record(result.record_id)
    console.print(f"store            {ctx.store.location}")
    console.print(
        f"record id        0x{result.record_id.hex()} (keccak256(author, patient, salt): "
        "derived from the author, so nobody can take it first)"
    )
    console.print(f"ciphertext CID   {result.cid}  ({result.size} bytes, plaintext {len(payload)})")
    console.print(f"sha256           0x{result.content_hash.hex()}")
    console.print(
        f"on-chain anchor  patient {anchor.patient}, type {anchor.scope_name}, "
        f"version {anchor.version}, block time {anchor.anchored_at}"
    )
    console.print(f"key envelope     {result.envelopes[str(patient.address)]}")

    back = records.get(result.record_id, recipient=patient, private_key=key)
    assert back == payload, "decrypted record differs from what was stored"
    observation = json.loads(back)
    value = observation["valueQuantity"]
    console.print(
        f"read back        {observation['code']['coding'][0]['display']} = "
        f"{value['value']} {value['unit']} (decrypted in this process only)"
    )
    report = records.verify(result.record_id)
    console.print(f"verified         {'; '.join(report.checks)}")
    who = "the patient (current DID owner)"
    console.print(
        f"may correct      {who}: {client.can_supersede(result.record_id, patient)}; "
        "otherwise only the record's author or a records delegate"
    )
    ctx.shared["lab_record"] = result.record_id
    ctx.shared["lab_record_cid"] = str(result.cid)
