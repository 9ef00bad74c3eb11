"""No PHI on chain: run the records demo step plus a share and a correction with
recognisable plaintext markers, then scan every transaction's calldata, every log's
topics and data, and every value the in-process node persisted (state and storage
tries, blocks, receipts): zero occurrences. A control marker sent on purpose proves
the scan sees what is written."""

from __future__ import annotations

import importlib
import io
import json

import pytest
from rich.console import Console

from medchain.demo import DemoContext
from medchain.records import Journal, Records, RecordsClient
from medchain.storage.embedded import EmbeddedStore
from support.deploy import deploy_fresh

demo = importlib.import_module("medchain.records.demo")

MARKERS = [b"PHI-MARKER-7Q2Z", b"Janet Marker-Q7", b"Hemoglobin A1c", b"PHI-CORRECTION-5K"]


def forms(marker: bytes) -> list[bytes]:
    return [marker, marker.hex().encode(), marker.lower(), marker.upper()]


def chain_bytes(chain, start: int) -> dict[str, list[bytes]]:
    seen: dict[str, list[bytes]] = {"calldata": [], "logs": [], "node database": []}
    for number in range(start, chain.blocks.height + 1):
        for tx in chain.blocks[number].transactions:
            seen["calldata"].append(bytes(tx.data))
            receipt = chain.provider.get_receipt(tx.txn_hash)
            for log in receipt.logs:
                seen["logs"].append(b"".join(bytes(t) for t in log["topics"]) + bytes(log["data"]))
    db = chain.provider.evm_backend.chain.chaindb.db.wrapped_db
    seen["node database"] = [bytes(v) for v in db.kv_store.values()]
    return seen


def occurrences(seen: dict[str, list[bytes]], markers: list[bytes]) -> list[tuple[str, bytes]]:
    return [
        (where, form)
        for where, blobs in seen.items()
        for blob in blobs
        for marker in markers
        for form in forms(marker)
        if form in blob
    ]


@pytest.fixture
def demo_ctx(deployer, patient, provider, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDCHAIN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MEDCHAIN_IPFS_API", raising=False)
    deployed = deploy_fresh(deployer, "RecordRegistry").contracts
    did_registry, registry = deployed["DIDRegistry"], deployed["RecordRegistry"]
    return DemoContext(
        console=Console(file=io.StringIO(), width=120),
        accounts={"patient": patient, "provider": provider, "deployer": deployer},
        contracts={"DIDRegistry": did_registry, "RecordRegistry": registry},
        book=None,  # type: ignore[arg-type]
        store=EmbeddedStore(tmp_path / "ipfs"),
    )


def test_no_plaintext_reaches_the_chain(chain, demo_ctx, patient, provider, keys, recipient,
                                        tmp_path):  # fmt: skip
    start = chain.blocks.height + 1
    demo.run(demo_ctx)
    out = demo_ctx.console.file.getvalue()
    assert "verified" in out and demo_ctx.shared["lab_record"]
    registry = demo_ctx.contracts["RecordRegistry"]
    records = Records(RecordsClient(registry), demo_ctx.store, journal=Journal(tmp_path / "j"))
    lab = demo_ctx.shared["lab_record"]
    patient_key = demo_ctx.shared["keys"]["patient"]
    records.share(lab, holder=patient, private_key=patient_key,
                  recipient=recipient(provider, keys["provider"]), sender=patient)  # fmt: skip
    corrected = dict(demo.LAB_RESULT, note=[{"text": "PHI-CORRECTION-5K recalibrated"}])
    records.put(json.dumps(corrected).encode(), patient=patient, scope="Observation",
                recipients=[recipient(patient, patient_key)], supersedes=lab, sender=patient)  # fmt: skip
    # Control: a marker sent on purpose is found by the same scan.
    control = b"CONTROL-MARKER-9X"
    patient.transfer(patient, 0, data=control)

    seen = chain_bytes(chain, start)
    assert len(seen["calldata"]) >= 4 and seen["logs"]
    assert occurrences(seen, MARKERS) == []
    found = {where for where, _ in occurrences(seen, [control])}
    assert {"calldata", "node database"} <= found
    # Nor does plaintext reach the disk: the content store and the journal hold ciphertext.
    for path in [*(tmp_path / "ipfs").rglob("*"), *(tmp_path / "home").rglob("*")]:
        if path.is_file():
            assert not any(m in path.read_bytes() for m in MARKERS), path
