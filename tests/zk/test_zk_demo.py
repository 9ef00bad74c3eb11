"""The zero-knowledge demo step runs end to end against the full deploy plan (PoseidonT3,
Groth16Verifier, EligibilityRegistry wired with the provider and lab as issuers): a sealed
vaccination credential, a venue's check, a trial enrollment by proof and the refused second
enrollment; nothing of the credentials reaches the chain but leaves."""

from __future__ import annotations

import importlib

from rich.console import Console

from medchain.demo import DemoContext
from medchain.zk import EligibilityClient


def test_demo_step(deployed, roles):
    step = importlib.import_module("medchain.zk.demo")
    console = Console(record=True, width=220)
    ctx = DemoContext(console=console, accounts=roles, contracts=deployed.contracts, book=None)
    step.run(ctx)
    text = console.export_text()
    for needle in (
        "provider issued credential",
        "venue verified vaccination in zero knowledge",
        "enrolled by proof",
        "second enrollment with the same credential refused: EligibilityNullifierSpent",
    ):
        assert needle in text, text
    gate = EligibilityClient(deployed.contracts["EligibilityRegistry"])
    assert gate.is_issuer(roles["provider"]) and gate.is_issuer(roles["lab"])
    assert int(ctx.shared["zk"]["nullifier"], 16) != 0
