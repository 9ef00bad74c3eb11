"""The documents published by hash or CID (lot manifests, dataset metadata, key envelopes)
are written by the one `crypto.canonical_json`; their bytes must never change, or a
manifest or metadata file stored before would no longer match its anchored hash."""

from __future__ import annotations

import hashlib
import json

from medchain.crypto import canonical_json
from medchain.genomics.data import DatasetMetadata
from medchain.supply.manifest import LotManifest


def _former_layout(doc):
    """The layout each module wrote by hand before it called canonical_json."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def test_lot_manifest_bytes_are_unchanged():
    manifest = LotManifest("09506000134352", "LOT42", "260131", ["SN001", "SN002", "SN003"])
    raw = manifest.to_json()
    assert raw == _former_layout(json.loads(raw))
    # recorded from the hand-written layout before the change
    assert hashlib.sha256(raw).hexdigest() == (
        "823be36e4247bd78fef3dcee750ec9a729b2f31615ab240dc1072062d43bff0c"
    )
    assert LotManifest.from_json(raw).root == manifest.root


def test_dataset_metadata_bytes_are_unchanged():
    meta = DatasetMetadata(
        "WGS 30\u00d7 Illumina", "GRCh38", "30x", "VCF", 123456,
        "0x" + "ab" * 32, 31337, "0x" + "12" * 20, "cd" * 32,
    )  # fmt: skip
    raw = meta.to_bytes()
    assert b"\\u00d7" in raw  # non-ASCII escaped, as before
    assert raw == _former_layout(json.loads(raw))
    assert hashlib.sha256(raw).hexdigest() == (
        "9030f0ebb3b0625b46b8ac6dcc8b2f2cf0ca1f0b56aeba9053d962ae97178bb5"
    )
    assert DatasetMetadata.from_bytes(raw) == meta


def test_canonical_json_layout():
    assert canonical_json({"b": [1, {"d": 2, "c": "\u00e4"}], "a": None}) == (
        b'{"a":null,"b":[1,{"c":"\\u00e4","d":2}]}'
    )
