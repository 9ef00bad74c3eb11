"""Demo step: a patient lists an encrypted genome as a dataset token, authorised by the
accredited lab that sequenced it (royalty to the lab), a researcher licenses it for
health/medical research (DUO HMB) for 90 days, the key agent delivers the key wrapped to
the researcher's current DID key (the licence starts then), the researcher decrypts and
accepts the key (releasing the escrow), owner and lab withdraw their shares, and after
90 days the licence has expired."""

from __future__ import annotations

import hashlib
import random
import tempfile
from pathlib import Path
from typing import Any

from ape.exceptions import APINotImplementedError

from medchain.demo import DemoContext
from medchain.genomics import GenomicDatasetClient, GenomicsClient, NotLicensed
from medchain.genomics.agent import KeyAgent
from medchain.genomics.data import Keyring, download, list_genome
from medchain.genomics.duo import codes, describe, expand, mask
from medchain.timeutil import DAY

ETH = "0x" + "00" * 20


def _genome(lines: int = 20_000) -> bytes:
    """A synthetic VCF (random SNVs on chr1-22): nothing here is anyone's genome."""
    rng = random.Random(60)
    rows = [
        b"##fileformat=VCFv4.3\n##reference=GRCh38\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    ]
    for _ in range(lines):
        ref, alt = rng.sample("ACGT", 2)
        rows.append(
            f"chr{rng.randint(1, 22)}\t{rng.randint(10_000, 200_000_000)}\t.\t{ref}\t{alt}"
            f"\t{rng.randint(20, 99)}\tPASS\tDP={rng.randint(10, 60)}\n".encode()
        )
    return b"".join(rows)


def _researcher_key(ctx: DemoContext) -> Any:
    """The researcher's X25519 key from the identity step, or one published here."""
    keys = ctx.shared.setdefault("keys", {})
    if keys.get("researcher") is None:
        from medchain.identity import DIDRegistryClient
        from medchain.keystore import generate_x25519, public_bytes, publish_encryption_key

        keys["researcher"] = generate_x25519()
        researcher = ctx.accounts["researcher"]
        registry = DIDRegistryClient(ctx.contracts["DIDRegistry"], researcher)
        publish_encryption_key(registry, researcher, public_bytes(keys["researcher"]))
    return keys["researcher"]


def run(ctx: DemoContext) -> None:
    from ape import chain

    from medchain.identity import key_agreement_keys
    from medchain.storage import open_store

    console = ctx.console
    patient, researcher, lab = (ctx.accounts[r] for r in ("patient", "researcher", "lab"))
    if ctx.store is None:
        ctx.store = open_store()
    work = Path(tempfile.mkdtemp(prefix="medchain-genomics-"))
    datasets = GenomicDatasetClient(ctx.contracts["GenomicDataset"], patient)
    market = GenomicsClient(ctx.contracts["GenomicLicensing"], patient)
    private = _researcher_key(ctx)
    if not datasets.is_producer(lab):  # the deploy plan accredits it on a fresh deploy
        GenomicDatasetClient(
            ctx.contracts["GenomicDataset"], ctx.accounts["deployer"]
        ).grant_producer(lab)

    genome = _genome()
    keyring = Keyring(work / "keyring.json")
    listed = list_genome(
        datasets, ctx.store, genome, keyring=keyring, lab=lab, assay="WGS",
        reference_genome="GRCh38", coverage="30x", file_format="VCF",
        royalty_receiver=lab.address, royalty_bps=500,
    )  # fmt: skip
    console.print(
        f"patient listed dataset #{listed.dataset_id}: {len(genome):,} bytes of VCF, "
        f"ciphertext {listed.data_cid[:24]}..., authorised by the lab (EIP-712), royalty 5% to it"
    )
    purposes = expand(mask("HMB"))
    price = 5 * 10**16
    offer_id = market.create_offer(
        listed.dataset_id, price=price, duration=90 * DAY, purposes=purposes
    )
    console.print(
        f"offer #{offer_id}: 0.05 ETH, 90 days from key delivery, key within 3 days, "
        f"3 days to check it, purposes {describe(purposes)}"
    )

    lic = GenomicsClient(ctx.contracts["GenomicLicensing"], researcher).buy(offer_id, mask("HMB"))
    console.print(
        f"researcher signed every offer term (EIP-712) and paid into escrow: licence "
        f"{lic.licence_id:#x}, purposes {codes(lic.purposes)}, status {lic.status.name.lower()}"
    )

    agent = KeyAgent(
        market, ctx.store, keyring, work / "agent.json",
        lambda address: key_agreement_keys(address, ctx.contracts["DIDRegistry"]),
    )  # fmt: skip
    for outcome in agent.poll_once():
        console.print(
            f"key agent: licence {outcome.licence_id:#x} {outcome.action} -> {outcome.envelope_cid[:24]}..."
        )

    out = work / "genome.vcf"
    got = download(
        GenomicsClient(ctx.contracts["GenomicLicensing"], researcher), ctx.store,
        listed.dataset_id, researcher.address, private, mask("HMB"), out, accept=True,
    )  # fmt: skip
    same = hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(genome).digest()
    status = market.licence(lic.licence_id).status.name.lower()
    console.print(
        f"researcher decrypted {got.plaintext_size:,} bytes; identical to the original: {same}; "
        f"key accepted, escrow {status}"
    )
    if not same:
        raise RuntimeError("decrypted genome differs from the listed one")

    shares = {}
    for role, account in (("patient", patient), ("lab", lab)):
        shares[role] = GenomicsClient(ctx.contracts["GenomicLicensing"], account).withdraw(ETH)
    _, fee_bps = market.call("platformFee")
    console.print(
        f"withdrawn: patient {shares['patient'] / 1e18:.6f} ETH, lab royalty "
        f"{shares['lab'] / 1e18:.6f} ETH (platform fee {int(fee_bps) / 100:.2f}% to the treasury)"
    )

    ctx.shared["genomics"] = {"dataset_id": listed.dataset_id, "licence_id": lic.licence_id}
    try:
        chain.pending_timestamp = chain.pending_timestamp + 90 * DAY + 1
        chain.mine()
    except APINotImplementedError:  # a real node's clock cannot be moved
        console.print("this node cannot move time forward: the licence runs its 90 days")
        return
    still = market.is_licensed(listed.dataset_id, researcher.address, mask("HMB"))
    try:
        download(
            GenomicsClient(ctx.contracts["GenomicLicensing"], researcher), ctx.store,
            listed.dataset_id, researcher.address, private, mask("HMB"), work / "again.vcf",
        )  # fmt: skip
        refused = "no"
    except NotLicensed:
        refused = "yes"
    console.print(
        f"90 days later: licensed {still}; SDK refuses to fetch the dataset again: {refused}"
    )
