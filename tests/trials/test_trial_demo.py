"""The trials demo step runs end to end (2-of-3 board, salted texts, disclosures verified
offline and against the chain) and leaves no bare hash of its texts on chain."""

from __future__ import annotations

import importlib

from rich.console import Console

from medchain.demo import DemoContext
from medchain.trials import TrialsClient, keccak


def test_demo_step(registry, roles):
    step = importlib.import_module("medchain.trials.demo")
    console = Console(record=True, width=220)
    ctx = DemoContext(
        console=console, accounts=roles, contracts={"TrialRegistry": registry}, book=None
    )
    step.run(ctx)
    text = console.export_text()
    for needle in (
        "2-of-3 ethics board",
        "one approval is a vote (protocol stayed v1), the second puts it in force: protocol v2",
        "salted commitments",
        "1 board vote",
        "offline: 6 disclosures open their commitments",
        "outcomes match the pre-registered ones",
    ):
        assert needle in text, text
    facts = ctx.shared["trials"]
    client = TrialsClient(registry)
    log = client.export(facts["trial_id"])
    bare = {
        "0x" + keccak(t.encode()).hex()
        for t in (
            "A-002 day-7 visit 3 days out of window",
            "A-001 hospitalised with pneumonia, day 12",
        )
    }
    values = {v for e in log["entries"] for v in e["payload"].values() if isinstance(v, str)}
    assert not bare & values
    # Runs again on the same chain (a new registry id).
    step.run(DemoContext(console=Console(record=True), accounts=roles,
                         contracts={"TrialRegistry": registry}, book=None))  # fmt: skip
