"""The SDK end to end on the real EVM, the embedded content store and the real DID
registry: list a genome (lab-authorised), buy, the agent delivers to the researcher's
newest key, download, decrypt and accept; the agent releases escrow after the review
window; refusals for unlicensed and expired researchers; the agent restarted mid-stream
posts each key once."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from medchain.crypto import WrongRecipientKey
from medchain.errors import IntegrityError
from medchain.genomics import GenomicsClient, NotLicensed, licence_id_of
from medchain.genomics.agent import AgentState, KeyAgent
from medchain.genomics.data import Keyring, download, list_genome, open_data_key, read_metadata
from medchain.identity import key_agreement_keys
from medchain.storage.embedded import EmbeddedStore
from support.deploy import deploy_fresh
from support.genomics import DAY, HMB, published_key, travel

GENOME = b"##fileformat=VCFv4.3\n" + b"chr1\t10177\t.\tA\tAC\t.\tPASS\t.\n" * 40_000


@pytest.fixture(scope="module")
def did_registry(deployer):
    return deploy_fresh(deployer, "DIDRegistry").contracts["DIDRegistry"]


@pytest.fixture(scope="module")
def x25519(did_registry, researcher, provider, lab):
    """X25519 keys published as did/pub/X25519/enc/hex attributes of three researchers."""
    return {
        a.address: published_key(did_registry, a, 10 * 365 * DAY)
        for a in (researcher, provider, lab)
    }


@pytest.fixture
def store(tmp_path):
    return EmbeddedStore(tmp_path / "ipfs")


@pytest.fixture
def listed(m, patient, lab, store, tmp_path):
    keyring = Keyring(tmp_path / "keyring.json")
    result = list_genome(
        m.datasets(patient), store, GENOME, keyring=keyring, lab=lab, assay="WGS",
        reference_genome="GRCh38", coverage="30x", file_format="vcf",
        royalty_receiver=lab.address, royalty_bps=500,
    )  # fmt: skip
    offer = m.offer(patient, result.dataset_id)
    return result, offer, keyring


def make_agent(m, patient, store, keyring, path, did_registry, **kw):
    return KeyAgent(
        GenomicsClient(m.market, patient), store, keyring, path,
        lambda address: key_agreement_keys(address, did_registry), **kw,
    )  # fmt: skip


def test_list_buy_deliver_download(
    m, patient, researcher, store, listed, tmp_path, did_registry, x25519, chain
):
    result, offer, keyring = listed
    assert (tmp_path / "keyring.json").stat().st_mode & 0o777 == 0o600
    info = m.datasets(patient).dataset(result.dataset_id)
    meta = read_metadata(store, info)
    assert (meta.assay, meta.reference_genome, meta.file_format) == ("WGS", "GRCh38", "VCF")
    assert GENOME not in store.cat(info.data_cid)  # only ciphertext is stored
    assert hashlib.sha256(store.cat(info.data_cid)).digest() == info.ciphertext_hash

    lic = m.client(researcher).buy(offer, HMB)
    agent = make_agent(m, patient, store, keyring, tmp_path / "agent.json", did_registry)
    outcomes = agent.poll_once()
    assert [o.action for o in outcomes] == ["delivered"]
    assert m.client(researcher).licence(lic.licence_id).status.name == "DELIVERED"
    assert m.market.balanceOf(patient, "0x" + "00" * 20) == 0  # held for the review

    out = tmp_path / "genome.vcf"
    got = download(m.client(researcher), store, result.dataset_id, researcher.address,
                   x25519[researcher.address], HMB, out, accept=True)  # fmt: skip
    assert out.read_bytes() == GENOME and got.plaintext_size == len(GENOME)
    assert m.client(researcher).licence(lic.licence_id).status.name == "RELEASED"
    assert m.market.balanceOf(patient, "0x" + "00" * 20) > 0
    assert agent.poll_once() == []  # nothing new, nothing posted twice
    travel(chain, 3 * DAY + 1)
    assert agent.poll_once() == []  # accepted already: nothing to release, nothing posted
    assert agent.state.reviewing == {}


def test_unlicensed_expired_and_wrong_key_are_refused(
    m, patient, researcher, provider, store, listed, tmp_path, chain, did_registry, x25519
):
    result, offer, keyring = listed
    with pytest.raises(NotLicensed):
        download(m.client(provider), store, result.dataset_id, provider.address,
                 x25519[provider.address], HMB, tmp_path / "x")  # fmt: skip
    m.client(researcher).buy(offer, HMB)
    make_agent(m, patient, store, keyring, tmp_path / "a.json", did_registry).poll_once()
    meta = read_metadata(store, m.datasets(patient).dataset(result.dataset_id))
    licence_id = licence_id_of(result.dataset_id, researcher.address)
    # Another person's private key cannot open the researcher's envelope.
    with pytest.raises(WrongRecipientKey):
        open_data_key(
            m.client(provider), store, licence_id, x25519[provider.address], meta.context()
        )
    # A licence for HMB does not cover population-ancestry research.
    with pytest.raises(NotLicensed):
        download(m.client(researcher), store, result.dataset_id, researcher.address,
                 x25519[researcher.address], 1 << 4, tmp_path / "x")  # fmt: skip
    travel(chain, 90 * DAY + 1)
    with pytest.raises(NotLicensed):
        download(m.client(researcher), store, result.dataset_id, researcher.address,
                 x25519[researcher.address], HMB, tmp_path / "x")  # fmt: skip
    assert not (tmp_path / "x").exists()


def test_tampered_envelope_is_refused(m, patient, researcher, store, listed, tmp_path, x25519):
    result, offer, _keyring = listed
    lic = m.client(researcher).buy(offer, HMB)
    bogus = store.add(b'{"format":"medchain-key-envelope"}')
    m.client(patient).deliver_key(lic.licence_id, str(bogus), b"\x01" * 32)
    meta = read_metadata(store, m.datasets(patient).dataset(result.dataset_id))
    with pytest.raises(IntegrityError):
        open_data_key(m.client(researcher), store, lic.licence_id, x25519[researcher.address],
                      meta.context())  # fmt: skip


class Crash(Exception):
    pass


def test_agent_restarted_mid_stream_posts_each_key_exactly_once(
    m, patient, researcher, provider, lab, store, listed, tmp_path, did_registry, x25519, chain
):
    result, offer, keyring = listed
    state = tmp_path / "agent-state.json"
    start = chain.blocks.head.number
    buyers = (researcher, provider, lab)
    for account in buyers[:2]:
        m.client(account).buy(offer, HMB)
    ids = [licence_id_of(result.dataset_id, a.address) for a in buyers]

    # Run 1 crashes right before posting the second licence's key (envelope stored, not posted).
    calls = []

    def crash_on_second(licence_id):
        calls.append(licence_id)
        if len(calls) == 2:
            raise Crash

    agent = make_agent(m, patient, store, keyring, state, did_registry, start_block=start,
                       before_post=crash_on_second)  # fmt: skip
    with pytest.raises(Crash):
        agent.poll_once()
    assert AgentState.load(state).last_block >= start

    # Run 2 crashes right after a post succeeded but before its cursor was saved.
    class PostThenCrash(GenomicsClient):
        def deliver_key(self, *args, **kw):
            super().deliver_key(*args, **kw)
            raise Crash

    agent2 = KeyAgent(PostThenCrash(m.market, patient), store, keyring, state,
                      lambda a: key_agreement_keys(a, did_registry), start_block=start)  # fmt: skip
    with pytest.raises(Crash):
        agent2.poll_once()

    # A purchase arrives while the agent is down.
    m.client(lab).buy(offer, HMB)
    run3 = make_agent(m, patient, store, keyring, state, did_registry, start_block=start)
    outcomes = run3.poll_once()
    assert run3.poll_once() == []
    actions = {o.licence_id: o.action for o in outcomes}
    assert all(a in ("delivered", "already-delivered") for a in actions.values())
    for licence_id in ids:
        assert m.market.licence(licence_id).status == 2
        posts = list(m.market.KeyDelivered.range(start, chain.blocks.head.number + 1,
                                                 search_topics={"licenceId": licence_id}))  # fmt: skip
        assert len(posts) == 1, f"licence {licence_id:#x} posted {len(posts)} times"
    # Every licensee can open its key.
    for account in buyers:
        out = tmp_path / f"{account.address}.vcf"
        download(m.client(account), store, result.dataset_id, account.address,
                 x25519[account.address], HMB, out)  # fmt: skip
        assert out.read_bytes() == GENOME


def test_agent_waits_for_a_researcher_key_then_delivers(
    m, patient, deployer, store, listed, tmp_path, did_registry
):
    _result, offer, keyring = listed
    m.client(deployer).buy(offer, HMB)  # the deployer has no X25519 key published yet
    agent = make_agent(m, patient, store, keyring, tmp_path / "w.json", did_registry)
    assert [o.action for o in agent.poll_once()] == ["waiting"]
    assert agent.poll_once() == [] and len(agent.state.waiting) == 1
    published_key(did_registry, deployer, DAY)
    assert [o.action for o in agent.poll_once()] == ["delivered"]
    assert agent.state.waiting == {}


def test_missed_deadline_means_no_key_and_a_refund(m, researcher, listed, chain):
    from medchain.genomics.data import wait_for_key

    _result, offer, _keyring = listed
    lic = m.client(researcher).buy(offer, HMB)
    with pytest.raises(TimeoutError):
        wait_for_key(m.client(researcher), lic.licence_id, timeout=0.0, poll=0.0)
    travel(chain, 3 * DAY + 1)
    with pytest.raises(NotLicensed, match="deadline passed"):
        wait_for_key(m.client(researcher), lic.licence_id, timeout=0.0)
    m.client(researcher).refund(lic.licence_id)
    with pytest.raises(NotLicensed, match="refunded"):
        wait_for_key(m.client(researcher), lic.licence_id, timeout=0.0)


def test_agent_seals_to_every_published_key_and_releases_after_review(
    m, patient, manufacturer, store, listed, tmp_path, did_registry, chain
):
    """A researcher whose DID publishes two valid X25519 keys (two devices, `did create
    --add`) gets one envelope set each key opens (a key it does not publish opens
    nothing); the agent releases the escrow once the review window passed undisputed."""
    result, offer, keyring = listed
    keys = [published_key(did_registry, manufacturer, 365 * DAY) for _ in range(2)]
    assert len(key_agreement_keys(manufacturer.address, did_registry)) == 2
    lic = m.client(manufacturer).buy(offer, HMB)
    agent = make_agent(m, patient, store, keyring, tmp_path / "r.json", did_registry)
    assert [o.action for o in agent.poll_once()] == ["delivered"]
    meta = read_metadata(store, m.datasets(patient).dataset(result.dataset_id))
    for key in keys:
        open_data_key(m.client(manufacturer), store, lic.licence_id, key, meta.context())
    with pytest.raises(WrongRecipientKey):  # a key the DID does not publish
        open_data_key(m.client(manufacturer), store, lic.licence_id,
                      X25519PrivateKey.generate(), meta.context())  # fmt: skip
    out = tmp_path / "rotated.vcf"
    download(m.client(manufacturer), store, result.dataset_id, manufacturer.address, keys[1],
             HMB, out)  # fmt: skip
    assert out.read_bytes() == GENOME
    assert agent.poll_once() == []  # review window still open
    travel(chain, 3 * DAY + 1)
    assert [o.action for o in agent.poll_once()] == ["released"]
    assert m.client(patient).licence(lic.licence_id).status.name == "RELEASED"
    assert m.market.balanceOf(patient, "0x" + "00" * 20) > 0
