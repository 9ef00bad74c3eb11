"""Figures of genomic licensing (no gas): wall time from a researcher's purchase to the
decrypted dataset on disk for a 100 MB genome file, on anvil with the embedded content
store, split into purchase (sign + pay), key delivery by the agent (event scan, wrap,
store, post), and download (fetch, hash check, decrypt to file, accept the key). Listing (encrypt +
store + mint) is reported beside it."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any

MB = 1_000_000
DAY = 86_400


def _timed(fn: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def run(size: int = 100 * MB) -> dict[str, Any]:
    from ape import accounts, networks
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from bench.deploy import deploy_specs
    from medchain.genomics import GenomicDatasetClient, GenomicsClient
    from medchain.genomics.agent import KeyAgent
    from medchain.genomics.data import Keyring, download, list_genome
    from medchain.genomics.duo import mask
    from medchain.identity import DIDRegistryClient, key_agreement_keys
    from medchain.keystore import public_bytes
    from medchain.storage.embedded import EmbeddedStore

    with networks.ethereum.local.use_provider("foundry"), tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        deployer, owner, researcher, lab = (accounts.test_accounts[i] for i in (0, 1, 3, 4))
        names = ("DIDRegistry", "GenomicDataset", "GenomicLicensing")
        # The shipped specs accredit the named lab as a producer.
        contracts = deploy_specs(deployer, *names, accounts={"lab": lab})
        did, token, market = (contracts[name] for name in names)
        key = X25519PrivateKey.generate()
        public = public_bytes(key)
        DIDRegistryClient(did, researcher).set_attribute(
            researcher, "did/pub/X25519/enc/hex", public, 365 * DAY
        )
        source = work / "genome.bam"
        with source.open("wb") as fh:
            for _ in range(size // MB):
                fh.write(os.urandom(MB))
        store = EmbeddedStore(work / "ipfs")
        keyring = Keyring(work / "keyring.json")
        listed, list_s = _timed(
            lambda: list_genome(
                GenomicDatasetClient(token, owner),
                store,
                source,
                keyring=keyring,
                lab=lab,
                assay="WGS",
                reference_genome="GRCh38",
                coverage="30x",
                file_format="BAM",
            )
        )
        seller = GenomicsClient(market, owner)
        offer = seller.create_offer(
            listed.dataset_id, price=10**16, duration=90 * DAY, purposes=mask("HMB")
        )
        agent = KeyAgent(
            seller, store, keyring, work / "agent.json",
            lambda address: key_agreement_keys(address, did),
        )  # fmt: skip
        agent.poll_once()  # scan up to now: the timed run handles only the new purchase

        started = time.perf_counter()
        buyer = GenomicsClient(market, researcher)
        _, buy_s = _timed(lambda: buyer.buy(offer, mask("HMB")))
        outcomes, deliver_s = _timed(agent.poll_once)
        out = work / "decrypted.bam"
        got, download_s = _timed(
            lambda: download(
                buyer,
                store,
                listed.dataset_id,
                researcher.address,
                key,
                mask("HMB"),
                out,
                accept=True,
            )
        )
        total_s = time.perf_counter() - started

        with source.open("rb") as a, out.open("rb") as b:
            same = (
                hashlib.file_digest(a, "sha256").digest()
                == hashlib.file_digest(b, "sha256").digest()
            )
        if not same or [o.action for o in outcomes] != ["delivered"]:
            raise RuntimeError("benchmark run did not deliver and decrypt the dataset intact")
        return {
            "file_bytes": size,
            "network": "anvil (ape-foundry), embedded store",
            "list_encrypt_store_mint_s": round(list_s, 2),
            "purchase_to_decrypted_s": round(total_s, 2),
            "purchase_sign_and_pay_s": round(buy_s, 3),
            "key_delivery_agent_s": round(deliver_s, 3),
            "download_verify_decrypt_s": round(download_s, 2),
            "download_MBps": round(got.plaintext_size / download_s / MB, 1),
        }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
