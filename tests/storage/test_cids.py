"""CIDs identical to `ipfs add`, checked against vectors computed by two independent
implementations, for both CID versions; the embedded store's blocks and reads."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medchain.errors import IntegrityError, InvalidInput
from medchain.storage import ContentNotFound, open_store
from medchain.storage.cid import CID, b32decode, b32encode, b58decode, b58encode
from medchain.storage.embedded import EmbeddedStore
from medchain.storage.unixfs import CHUNK_SIZE, MAX_LINKS, compute_cid
from support.cid_vectors import load_vectors, vector_payload
from support.fuzzing import property_settings

VECTORS = load_vectors()


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"{v['size']}B")
def test_vectors_both_versions(vector, tmp_path):
    data = vector_payload(vector["size"])
    assert str(compute_cid(data, cid_version=0)) == vector["cid_v0"]
    assert str(compute_cid(data, cid_version=1)) == vector["cid_v1_raw_leaves"]
    store = EmbeddedStore(tmp_path)
    for version, key in ((0, "cid_v0"), (1, "cid_v1_raw_leaves")):
        cid = store.add(data, cid_version=version)
        assert str(cid) == vector[key]
        assert CID.parse(vector[key]) == cid and store.has(cid) and store.pinned(cid)
        assert store.cat(cid) == data


def test_vector_file_covers_the_chunk_boundaries():
    sizes = {v["size"] for v in VECTORS}
    assert {0, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1} <= sizes


def test_deeper_dag_round_trips_and_streams(tmp_path):
    # 175 leaves: the first size that needs a second tree level (174 links per node).
    data = hashlib.sha256(b"deep").digest() * ((MAX_LINKS * CHUNK_SIZE + 1000) // 32)
    store = EmbeddedStore(tmp_path)
    with (tmp_path / "deep.bin").open("wb") as handle:
        handle.write(data)
    with (tmp_path / "deep.bin").open("rb") as handle:
        cid = store.add(handle, cid_version=1)
    assert cid == compute_cid(data, cid_version=1)
    assert hashlib.sha256(b"".join(store.stream(cid))).digest() == hashlib.sha256(data).digest()


@property_settings(60)
@given(st.binary(max_size=80))
def test_base_encodings_round_trip(raw):
    assert b32decode(b32encode(raw)) == raw
    assert b58decode(b58encode(raw)) == raw


@pytest.mark.parametrize(
    "text",
    ["", "Qm", "QmYV6fuQB9WhxWdy8ScxqZXpYUp8qXkN2289SF6ehoDSp0", "bafy!", "b" + "a" * 58,
     "bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",  # dag-cbor
     "bciqaaaaaa", "mAXASIA", "z" + "1" * 10],
)  # fmt: skip
def test_malformed_cids_are_invalid_input(text):
    with pytest.raises(InvalidInput):
        CID.parse(text)


def test_cid_text_forms():
    cid = CID.parse("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")
    assert CID.parse(str(cid).upper().replace("B", "B", 1)) == cid
    assert CID.parse("z" + b58encode(cid.to_bytes())) == cid
    v0 = CID.parse("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH")
    assert v0.version == 0 and str(v0.to_v1()).startswith("bafybei")
    with pytest.raises(InvalidInput):
        CID.of_block(b"x", codec=0x55, version=0)


def test_embedded_store_refuses_tampered_and_missing_blocks(tmp_path):
    store = EmbeddedStore(tmp_path)
    data = vector_payload(3 * CHUNK_SIZE + 5)
    cid = store.add(data)
    leaf = next(p for p in (tmp_path / "blocks").rglob("*") if p.is_file()
                and p.stat().st_size == CHUNK_SIZE)  # fmt: skip
    leaf.write_bytes(b"\0" + leaf.read_bytes()[1:])
    with pytest.raises(IntegrityError, match="does not hash"):
        store.cat(cid)
    leaf.unlink()
    assert not store.has(cid)
    with pytest.raises(ContentNotFound):
        store.cat(cid)
    with pytest.raises(ContentNotFound):
        store.pin(cid)


def test_open_store_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("MEDCHAIN_IPFS_API", raising=False)
    monkeypatch.setenv("MEDCHAIN_HOME", str(tmp_path))
    store = open_store()
    assert isinstance(store, EmbeddedStore) and store.location == str(tmp_path / "ipfs")
    monkeypatch.setenv("MEDCHAIN_IPFS_API", "http://127.0.0.1:5001")
    assert open_store().location == "http://127.0.0.1:5001"
    url = "cluster+http://a:9094?ipfs=http://a:5001,http://b:9094?ipfs=http://b:5001&min=2&max=3"
    cluster = open_store(url)
    assert cluster.location == "cluster+http://a:9094,http://b:9094"
    assert (cluster.replication_min, cluster.replication_max) == (2, 3)
    for bad, why in [("cluster+ftp://a", "not an http"), ("cluster+http://a:9094", "Kubo RPC"),
                     ("cluster+http://a?ipfs=http://a&min=3&max=2", "min <= max"),
                     ("cluster+http://a?ipfs=http://a&min=x", "integer")]:  # fmt: skip
        with pytest.raises(InvalidInput, match=why):
            open_store(bad)
