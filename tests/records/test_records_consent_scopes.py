"""Records and consent agree on every scope label: a record anchored under a non-ASCII label
("Befund-ä") or a label longer than 32 bytes is written under a write grant for that label and
read by a provider holding a read grant for that same label, and by nobody whose grant names
another label, all through the SDK on the full deployment (consent is RecordRegistry's write
authorizer)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from medchain.codec import scope_code, scope_label
from medchain.consent import ConsentClient
from medchain.errors import ContractRevert
from medchain.records import (
    ConsentRequired,
    Journal,
    Records,
    RecordsClient,
)
from medchain.storage.embedded import EmbeddedStore
from support.records import recipient_of

LONG_LABEL = "http://loinc.org|2345-7|Glucose [Mass/volume] in Serum or Plasma"
LABELS = ["Befund-ä", LONG_LABEL]


@pytest.fixture
def setting(deployed, tmp_path):
    registry = RecordsClient(deployed.contracts["RecordRegistry"])
    consent = ConsentClient(deployed.contracts["ConsentRegistry"])
    assert registry.write_authorizer() == consent.address
    records = Records(registry, EmbeddedStore(tmp_path / "ipfs"), journal=Journal(tmp_path / "j"))
    return records, consent


@pytest.mark.parametrize("label", LABELS, ids=["non-ascii", "longer-than-32-bytes"])
def test_a_grant_for_the_label_opens_a_record_anchored_under_it(
    setting, label, patient, lab, provider, researcher
):
    records, consent = setting
    # The one encoding: neither label fits as text, so both are hashed, by records and consent.
    assert len(label.encode()) > 32 or not label.isascii()
    code = scope_code(label)
    assert scope_label(code) == "0x" + code.hex()
    keys = {who: X25519PrivateKey.generate() for who in ("patient", "provider", "researcher")}
    consent.grant(patient, lab, label, "write", "TREAT", sender=patient)
    consent.grant(patient, provider, label, "read", "TREAT", sender=patient)
    # The researcher holds a read grant too, but for another label, and an envelope of its own.
    consent.grant(patient, researcher, "Befund-b", "read", "TREAT", sender=patient)

    body = f"{label}: 5.4 mmol/L".encode()
    result = records.put(
        body,
        patient=patient,
        scope=label,
        recipients=[
            recipient_of(patient, keys["patient"]),
            recipient_of(provider, keys["provider"]),
            recipient_of(researcher, keys["researcher"]),
        ],
        sender=lab,
    )
    anchor = records.client.record(result.record_id)
    assert anchor.scope == code
    assert consent.check(patient, provider, anchor.scope, "read", "TREAT")

    assert records.read_access(result.record_id, reader=provider, consent=consent) is True
    plain = records.get(result.record_id, recipient=provider, private_key=keys["provider"])
    assert plain == body
    reads = [
        row
        for row in records.audit(patient)
        if row["event"] == "read" and row["record_id"] == "0x" + result.record_id.hex()
    ]
    assert [row["by"] for row in reads] == [str(provider.address)]

    with pytest.raises(ConsentRequired, match="no read consent"):
        records.read_access(result.record_id, reader=researcher, consent=consent)


def test_a_write_grant_for_another_label_anchors_nothing(setting, patient, lab):
    records, consent = setting
    consent.grant(patient, lab, "Befund-b", "write", "TREAT", sender=patient)
    key = X25519PrivateKey.generate()
    with pytest.raises(ContractRevert) as refused:
        records.put(
            b"not anchored",
            patient=patient,
            scope="Befund-ä",
            recipients=[recipient_of(patient, key)],
            sender=lab,
        )
    assert refused.value.error_name == "RecordUnauthorizedWriter"
