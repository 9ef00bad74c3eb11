"""The supply demo step runs end to end on the full deployment and tells its story."""

from __future__ import annotations

import importlib

from rich.console import Console

from medchain.demo import DemoContext
from medchain.storage.embedded import EmbeddedStore
from medchain.supply import Outcome, SupplyClient, open_manifest


def test_demo_step(deployed, roles, tmp_path, chain):
    step = importlib.import_module("medchain.supply.demo")
    console = Console(record=True, width=200)
    store = EmbeddedStore(tmp_path / "ipfs")
    ctx = DemoContext(
        console=console, accounts=roles, contracts=deployed.contracts, book=None, store=store
    )
    step.run(ctx)
    text = console.export_text()
    for needle in (
        "commissioned",
        "rebuild the on-chain root",
        "dispense         genuine",
        "already_dispensed, now suspect",
        "now recalled",
        "pharmacy (case SSCC",
        "return           pack",
    ):
        assert needle in text, text
    gas = int(text.split(" gas")[0].split(", ")[-1].replace(",", ""))
    # Commissioning 10,000 packs: 80,000 until issue 14; the pause check (commissioning
    # pauses) adds one cold read of the pause flag, 2,100 gas (docs/supply.md, "Gas").
    assert gas <= 82_000

    facts = ctx.shared["supply"]
    registry = deployed.contracts["SerialRegistry"]
    client = SupplyClient(registry)
    assert client.container(facts["lot_id"]).recalled
    # The CID in the commissioning event opens with the wholesaler's key too.
    event = list(registry.LotCommissioned.range(0, chain.blocks.height + 1))[-1]
    assert event.manifestCid == facts["manifest_cid"]
    # The wholesaler reads the serial list through its own key envelope.
    manifest = open_manifest(
        store,
        facts["manifest_cid"],
        chain_id=chain.chain_id,
        registry=registry.address,
        lot=facts["lot_id"],
        envelope_cid=facts["envelopes"]["wholesaler"],
        private_key=ctx.shared["keys"]["wholesaler"],
    )
    at_rest = store.cat(facts["manifest_cid"])
    assert not any(s.encode() in at_rest for s in manifest.serials[:50])  # encrypted at rest
    pid = manifest.identifier(3)
    assert client.verify(pid, manifest.tree.proof(3)) == Outcome.SUSPECT

    # Re-running on the same chain works (new lot, partners re-registered).
    again = DemoContext(
        console=Console(record=True),
        accounts=roles,
        contracts=deployed.contracts,
        book=None,
        store=store,
        shared=ctx.shared,
    )
    step.run(again)
    assert again.shared["supply"]["lot_id"] != facts["lot_id"]
