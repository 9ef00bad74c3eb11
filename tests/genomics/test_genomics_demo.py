"""The genomics demo step runs end to end on fresh contracts: the lab authorises the
listing, the researcher's key decrypts the genome, the key is accepted (escrow released),
owner and lab withdraw, and 90 days after delivery the licence has expired."""

from __future__ import annotations

import importlib

from rich.console import Console

from medchain.demo import DemoContext
from medchain.storage.embedded import EmbeddedStore
from support.deploy import deploy_fresh


def test_genomics_demo_step(deployer, roles, tmp_path):
    # No named accounts passed to the deploy: the lab is not yet accredited, the step does it.
    deployed = deploy_fresh(deployer, "DIDRegistry", "GenomicLicensing").contracts
    did, token, market = (
        deployed[n] for n in ("DIDRegistry", "GenomicDataset", "GenomicLicensing")
    )
    step = importlib.import_module("medchain.genomics.demo")
    console = Console(record=True, width=240)
    ctx = DemoContext(
        console=console, accounts=roles, book=None, store=EmbeddedStore(tmp_path / "ipfs"),
        contracts={"DIDRegistry": did, "GenomicDataset": token, "GenomicLicensing": market},
    )  # fmt: skip
    step.run(ctx)
    text = console.export_text()
    for needle in (
        "authorised by the lab (EIP-712)",
        "key agent: licence",
        "delivered",
        "identical to the original: True; key accepted, escrow released",
        "90 days later: licensed False; SDK refuses to fetch the dataset again: yes",
    ):
        assert needle in text, text
    assert token.hasRole(token.PRODUCER_ROLE(), roles["lab"])
    assert market.licence(ctx.shared["genomics"]["licence_id"]).status == 3  # Released
