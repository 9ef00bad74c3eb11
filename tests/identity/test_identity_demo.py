"""The identity demo step hands keys and DIDs to later steps and prints a document."""

from __future__ import annotations

import importlib
import io

from rich.console import Console

from medchain.demo import DemoContext
from medchain.identity import DIDResolver


def test_demo_step_publishes_keys_for_every_role(registry, roles, chain, tmp_path):
    from medchain.deployments import AddressBook

    step = importlib.import_module("medchain.identity.demo")
    out = io.StringIO()
    ctx = DemoContext(
        Console(file=out, width=200),
        roles,
        {"DIDRegistry": registry},
        AddressBook(tmp_path / "book"),
    )
    step.run(ctx)
    resolver = DIDResolver(chain.provider.web3, registry.address, chain.chain_id)
    for role in ("patient", "provider", "researcher", "lab"):
        did = ctx.shared["did"][role]
        public = ctx.shared["keys"][role].public_key().public_bytes_raw()
        assert public == ctx.shared["public_keys"][role]
        assert public in [pk for _, pk in resolver.resolve(did).key_agreement]
    assert [s["type"] for s in resolver.resolve(ctx.shared["did"]["lab"]).services()] == [
        "LabResults"
    ]
    text = out.getvalue()
    assert "keyAgreement" in text and ctx.shared["did"]["patient"] in text
