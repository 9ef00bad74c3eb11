"""The Kubo RPC store against a real Kubo daemon (offline, loopback, test profile), and
against a real local HTTP server that lies: every lie is refused."""

from __future__ import annotations

import hashlib
import socket

import pytest

from medchain.errors import IntegrityError
from medchain.storage import ContentNotFound, StoreUnavailable
from medchain.storage.cid import CID
from medchain.storage.embedded import EmbeddedStore
from medchain.storage.kubo import KuboStore
from medchain.storage.unixfs import CHUNK_SIZE, MAX_LINKS, compute_cid
from support.cid_vectors import load_vectors, vector_payload

VECTORS = load_vectors()


@pytest.fixture(scope="module")
def kubo(ipfs_api):
    store = KuboStore(ipfs_api)
    yield store
    store.close()


@pytest.mark.ipfs
def test_node_answers(kubo):
    assert kubo.version() == "0.42.0"  # the Kubo pinned by tools/ipfs/kubo/go.mod


@pytest.mark.ipfs
@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"{v['size']}B")
def test_node_and_embedded_store_agree_on_every_vector(kubo, vector, tmp_path):
    data = vector_payload(vector["size"])
    embedded = EmbeddedStore(tmp_path)
    for version, key in ((0, "cid_v0"), (1, "cid_v1_raw_leaves")):
        cid = kubo.add(data, cid_version=version)  # refuses if the node's CID differs
        assert str(cid) == vector[key] == str(embedded.add(data, cid_version=version))
        assert kubo.has(cid)
        assert kubo.cat(cid) == data


@pytest.mark.ipfs
def test_node_agrees_on_a_two_level_dag(kubo, tmp_path):
    data = hashlib.sha256(b"deep").digest() * ((MAX_LINKS * CHUNK_SIZE + 4096) // 32)
    path = tmp_path / "deep.bin"
    path.write_bytes(data)
    with path.open("rb") as handle:
        cid = kubo.add(handle, cid_version=1)
    assert cid == compute_cid(data, cid_version=1)
    kubo.pin(cid)
    digest = hashlib.sha256()
    for block in kubo.stream(cid):
        digest.update(block)
    assert digest.digest() == hashlib.sha256(data).digest()


@pytest.mark.ipfs
def test_node_reports_missing_content(ipfs_api):
    quick = KuboStore(ipfs_api, block_timeout=1)
    absent = compute_cid(b"never added " * 3)
    assert not quick.has(absent)
    with pytest.raises(ContentNotFound):
        quick.cat(absent)


def test_a_node_returning_wrong_bytes_is_refused(lying_node):
    store = KuboStore(lying_node, timeout=5)
    with pytest.raises(IntegrityError, match="hash to something else"):
        store.cat(compute_cid(b"lab result"))
    with pytest.raises(IntegrityError, match="named the upload"):
        store.add(b"lab result")


def test_an_unreachable_node_is_a_clear_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = KuboStore(f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(StoreUnavailable, match="unreachable"):
        store.add(b"lab result")
    with pytest.raises(StoreUnavailable):
        store.cat(CID.parse("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"))
    assert issubclass(ContentNotFound, IntegrityError)
