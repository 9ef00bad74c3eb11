"""Records on a real 3-peer IPFS Cluster (each peer beside its own Kubo node; crdt, shared
secret, loopback only): anchoring waits for `min` replicas, a storage node killed
mid-put, two of three nodes down, a node that rejoins, a lying node, erasure."""

from __future__ import annotations

import os
import time

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from medchain.errors import IntegrityError
from medchain.keystore import public_bytes
from medchain.records import Journal, Recipient, RecordErased, Records, RecordsClient
from medchain.storage import open_store
from medchain.storage.cluster import ClusterPeer, ClusterStore, ReplicationError
from medchain.storage.kubo import KuboStore
from support.deploy import deploy_fresh

pytestmark = pytest.mark.ipfs


@pytest.fixture(scope="module")
def registry(deployer):
    return deploy_fresh(deployer, "RecordRegistry").contracts["RecordRegistry"]


@pytest.fixture(scope="module")
def key():
    return X25519PrivateKey.generate()


def me(patient, key) -> Recipient:
    raw = public_bytes(key)
    return Recipient(patient.address, raw)


def records_on(store, registry, tmp_path) -> Records:
    return Records(RecordsClient(registry), store, journal=Journal(tmp_path / "journal"))


def local_status(peer, cid) -> str:
    """What `peer` itself says about `cid` (its own pin tracker and Kubo node)."""
    info = httpx.get(f"{peer.api_url}/pins/{cid}", params={"local": "true"}, timeout=10).json()
    return next(iter(info["peer_map"].values()))["status"]


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.5)


def test_put_anchors_after_min_replicas_and_says_how_many(ipfs_cluster, registry, patient,
                                                          key, tmp_path):  # fmt: skip
    store = open_store(ipfs_cluster.url(2, 3))
    assert isinstance(store, ClusterStore) and store.replication_min == 2
    records = records_on(store, registry, tmp_path)
    payload = os.urandom(900_000)
    put = records.put(payload, patient=patient, scope="Observation",
                      recipients=[me(patient, key)], sender=patient)  # fmt: skip
    assert put.replicas == 3  # every live peer pinned the ciphertext and the envelope
    for cid in (put.cid, *put.envelopes.values()):
        assert [local_status(p, cid) for p in ipfs_cluster.peers] == ["pinned"] * 3
        for peer in ipfs_cluster.peers:  # each Kubo node holds every block itself
            assert KuboStore(peer.kubo.api_url).has(cid)
    assert records.get(put.record_id, recipient=patient, private_key=key) == payload


@pytest.mark.parametrize("replication_min", [2, 3])
def test_peer_killed_mid_put_reaches_min_or_anchors_nothing(ipfs_cluster, registry, patient,
                                                           key, tmp_path, replication_min):  # fmt: skip
    store = ClusterStore.from_url(ipfs_cluster.url(replication_min, 3), pin_timeout=15)
    records = records_on(store, registry, tmp_path)
    victim = ipfs_cluster.peers[2]
    payload = os.urandom(12_000_000)
    sent = 0

    def kill_half_way(stage: str, n: int) -> None:
        nonlocal sent
        if stage == "store":
            sent += n
            if sent > len(payload) // 2 and victim.running:
                victim.stop_all(crash=True)  # SIGKILL the cluster peer and its Kubo node

    entry = records.prepare(payload, patient=patient, scope="Observation",
                            recipients=[me(patient, key)], author=patient,
                            progress=kill_half_way)  # fmt: skip
    rid = bytes.fromhex(entry.record_id[2:])
    if replication_min == 3:
        with pytest.raises(ReplicationError, match="only 2 of the required 3 cluster peers"):
            records.resume(entry.record_id, sender=patient, progress=kill_half_way)
        assert not victim.running
        assert not records.client.exists(rid)  # nothing anchored
        assert [e.record_id for e in records.pending()] == [entry.record_id]
        assert "ReplicationError" in records.pending()[0].last_error
        return
    put = records.resume(entry.record_id, sender=patient, progress=kill_half_way)
    assert not victim.running and put.replicas == 2 and records.client.exists(rid)
    assert records.get(rid, recipient=patient, private_key=key) == payload
    # The node comes back (same repo, it never got all the blocks): the cluster repins
    # the content it was allocated, its Kubo fetching the missing blocks from a live peer.
    victim.start()
    allocated = [
        c
        for c in (put.cid, *put.envelopes.values())
        if victim.peer_id
        in httpx.get(f"{ipfs_cluster.peers[0].api_url}/allocations/{c}", timeout=10).json()[
            "allocations"
        ]
    ]
    assert put.cid in allocated  # allocated before the kill; an envelope may not be
    wait_for(lambda: all(local_status(victim, c) == "pinned" for c in allocated), 60,
             "the rejoined peer repins")  # fmt: skip
    assert KuboStore(victim.kubo.api_url).has(put.cid)
    assert store.replicas(put.cid) == 3


def test_read_back_intact_after_two_of_three_peers_stop(ipfs_cluster, registry, patient, key,
                                                        tmp_path, lying_node):  # fmt: skip
    store = ClusterStore.from_url(ipfs_cluster.url(3, 3))
    records = records_on(store, registry, tmp_path)
    payload = os.urandom(700_000)
    put = records.put(payload, patient=patient, scope="Observation",
                      recipients=[me(patient, key)], sender=patient)  # fmt: skip
    assert put.replicas == 3
    for peer in ipfs_cluster.peers[:2]:
        peer.stop_all()
    survivor = ipfs_cluster.peers[2]
    assert records.get(put.record_id, recipient=patient, private_key=key) == payload
    assert records.verify(put.record_id).envelopes_checked == 1
    # A lying node (wrong bytes for every block) is never believed: beside an honest peer
    # the read still succeeds from the honest one; alone it is refused.
    liar = ClusterPeer(lying_node, lying_node)
    honest = ClusterPeer(survivor.api_url, survivor.kubo.api_url)
    mixed = records_on(ClusterStore([liar, honest]), registry, tmp_path / "mixed")
    assert mixed.get(put.record_id, recipient=patient, private_key=key) == payload
    lied_to = records_on(ClusterStore([liar]), registry, tmp_path / "liar")
    with pytest.raises(IntegrityError, match="no cluster peer returned the bytes"):
        lied_to.get(put.record_id, recipient=patient, private_key=key)


def test_erasure_unpins_cluster_wide(ipfs_cluster, registry, patient, key, tmp_path):
    store = ClusterStore.from_url(ipfs_cluster.url(2, 3))
    records = records_on(store, registry, tmp_path)
    put = records.put(os.urandom(400_000), patient=patient, scope="Observation",
                      recipients=[me(patient, key)], sender=patient)  # fmt: skip
    records.erase(put.record_id, sender=patient)
    for cid in (put.cid, *put.envelopes.values()):
        assert store.replicas(cid) == 0
        for peer in ipfs_cluster.peers:  # unpinned and garbage-collected on every node
            assert not KuboStore(peer.kubo.api_url, block_timeout=1).has(cid)
    with pytest.raises(RecordErased):
        records.get(put.record_id, recipient=patient, private_key=key)
