"""Gas of every DIDRegistry operation: ERC-1056 calls (first and subsequent, anchored to
the canonical registry's figures in shared/notes/domain.md), legacy and EIP-712 signed
variants, and batches (5 attribute changes in one transaction vs 5 single ones)."""

from __future__ import annotations

from typing import Any

from bench.accounts import funded_account
from medchain.identity import DIDRegistryClient, Operation, to_bytes32

SRC = "canonical EthereumDIDRegistry (domain.md)"
DAY = 86_400
KEY32 = bytes(range(1, 33))  # a 32-byte value such as an X25519 public key
ENC = "did/pub/X25519/enc/base64"
# A fixed deadline keeps signatures (and so calldata gas) identical from run to run.
DEADLINE = 2**40


def measure(g: Any) -> None:
    registry = g.contracts["DIDRegistry"]
    client = DIDRegistryClient(registry)
    relayer = g.accounts["deployer"]
    veri = to_bytes32("veriKey")
    name = to_bytes32(ENC)

    def canonical(operation: str, receipt: Any, canonical_gas: int) -> None:
        """The figure of `operation`, anchored to the canonical registry's."""
        g.record(f"DIDRegistry.{operation}", receipt, canonical_gas, SRC)

    # ---- owner changes
    a = funded_account(g)
    canonical("changeOwner (first)", registry.changeOwner(a, relayer, sender=a), 68_838)
    b = funded_account(g)
    registry.setAttribute(b, name, KEY32, DAY, sender=b)
    canonical("changeOwner (next)", registry.changeOwner(b, relayer, sender=b), 34_634)

    # ---- delegates
    c = funded_account(g)
    d1, d2 = funded_account(g), funded_account(g)
    for order, delegate, canonical_gas in (("first", d1, 72_207), ("next", d2, 55_119)):
        receipt = registry.addDelegate(c, veri, delegate, DAY, sender=c)
        canonical(f"addDelegate ({order})", receipt, canonical_gas)
    canonical("revokeDelegate", registry.revokeDelegate(c, veri, d1, sender=c), 37_641)

    # ---- attributes (32-byte value)
    e = funded_account(g)
    for order, canonical_gas in (("first", 51_843), ("next", 34_275)):
        receipt = registry.setAttribute(e, name, KEY32, DAY, sender=e)
        canonical(f"setAttribute 32B ({order})", receipt, canonical_gas)
    g.record("DIDRegistry.revokeAttribute 32B", registry.revokeAttribute(e, name, KEY32, sender=e))

    # ---- legacy ERC-1056 signed (relayed)
    f = funded_account(g)
    legacy = client.with_sender(relayer)
    op = Operation.set_attribute(ENC, KEY32, DAY)
    legacy.send_legacy_signed(f, op, f)  # first change for the identity
    g.record(
        "DIDRegistry.setAttributeSigned 32B (next, legacy sig)", legacy.send_legacy_signed(f, op, f)
    )
    g.record(
        "DIDRegistry.addDelegateSigned (next, legacy sig)",
        legacy.send_legacy_signed(f, Operation.add_delegate("veriKey", d1, DAY), f),
    )
    g.record(
        "DIDRegistry.changeOwnerSigned (next, legacy sig)",
        legacy.send_legacy_signed(f, Operation.change_owner(relayer), f),
    )

    # ---- EIP-712 signed (relayed)
    h = funded_account(g)
    typed = client.with_sender(relayer)

    def relay_typed(identity: Any, ops: Any) -> Any:
        """`ops` signed by `identity` (EIP-712), relayed by the relayer."""
        return typed.relay(client.sign(identity, ops, identity, deadline=DEADLINE))

    relay_typed(h, op)  # first change for the identity
    g.record("DIDRegistry.setAttributeTyped 32B (next)", relay_typed(h, op))
    g.record(
        "DIDRegistry.addDelegateTyped (next)",
        relay_typed(h, Operation.add_delegate("veriKey", d1, DAY)),
    )
    g.record(
        "DIDRegistry.revokeDelegateTyped", relay_typed(h, Operation.revoke_delegate("veriKey", d1))
    )
    g.record(
        "DIDRegistry.revokeAttributeTyped 32B",
        relay_typed(h, Operation.revoke_attribute(ENC, KEY32)),
    )
    g.record("DIDRegistry.changeOwnerTyped (next)", relay_typed(h, Operation.change_owner(relayer)))

    # ---- batches: 5 attribute changes in one transaction
    k = funded_account(g)
    registry.setAttribute(k, name, KEY32, DAY, sender=k)  # both sides start "next"
    five = [Operation.set_attribute(ENC, bytes([i]) * 32, DAY) for i in range(1, 6)]
    singles = sum(
        int(registry.setAttribute(k, o.name, o.value, DAY, sender=k).gas_used) for o in five
    )
    fig = g.record(
        "DIDRegistry.batch 5x setAttribute 32B (next)",
        client.batch(k, five, sender=k),
        int(0.6 * 5 * 34_275),
        "60% of 5 x setAttribute 32B next (domain.md)",
    )
    print(
        f"  batch of 5 = {fig.gas:,} gas vs 5 single txs {singles:,} "
        f"({100 * fig.gas / singles:.0f}%)"
    )
    g.record(
        "DIDRegistry.batchTyped 5x setAttribute 32B (next)",
        relay_typed(k, five),
        int(0.6 * 5 * 34_275),
        "60% of 5 x setAttribute 32B next (domain.md)",
    )
    mixed = [
        Operation.set_attribute(ENC, KEY32, DAY),
        Operation.add_delegate("sigAuth", d2, DAY),
        Operation.revoke_delegate("veriKey", d1),
        Operation.set_attribute("did/svc/Records", b'{"uri":"https://records.example"}', DAY),
        Operation.change_owner(relayer),
    ]
    g.record("DIDRegistry.batch mixed 5 ops incl. changeOwner", client.batch(k, mixed, sender=k))

    # ---- cancelling signed but unsent requests
    n = funded_account(g)
    registry.invalidateNonce(sender=n)  # first: the nonce slot is fresh
    g.record("DIDRegistry.invalidateNonce (next)", registry.invalidateNonce(sender=n))

    # ---- deactivation
    m = funded_account(g)
    g.record(
        "DIDRegistry.changeOwner to 0x0 (deactivate, first)",
        registry.changeOwner(m, "0x" + "00" * 20, sender=m),
    )
