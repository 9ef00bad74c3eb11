"""Demo step 10 (identity): DIDs for the patient, provider, researcher and lab, each
publishing an X25519 encryption key; one direct, one EIP-712 signed and relayed, one
batched with a service endpoint. Private keys go to ctx.shared["keys"][role] (in memory
only), DIDs to ctx.shared["did"][role], public keys to ctx.shared["public_keys"][role]."""

from __future__ import annotations

import json
from typing import Any

from medchain.identity import DIDRegistryClient, DIDResolver, Operation, format_did
from medchain.keystore import X25519_ENC_ATTRIBUTE, generate_x25519, public_bytes

YEAR = 365 * 86_400


def run(ctx: Any) -> None:
    registry = ctx.contracts["DIDRegistry"]
    client = DIDRegistryClient(registry)
    relayer = ctx.accounts["deployer"]
    resolver = DIDResolver.connected(registry)
    keys = ctx.shared.setdefault("keys", {})
    dids = ctx.shared.setdefault("did", {})
    publics = ctx.shared.setdefault("public_keys", {})

    for role in ("patient", "provider", "researcher", "lab"):
        account = ctx.accounts[role]
        private = generate_x25519()
        public = public_bytes(private)
        publish = Operation.set_attribute(X25519_ENC_ATTRIBUTE, public, YEAR)
        if role == "provider":
            # the provider only signs; the deployer relays and pays (EIP-712)
            request = client.sign(account, publish, account)
            receipt = client.with_sender(relayer).relay(request)
            how = "EIP-712 signed, relayed by deployer"
        elif role in ("researcher", "lab"):
            service = Operation.set_attribute(
                f"did/svc/{'ResearchPortal' if role == 'researcher' else 'LabResults'}",
                f"https://{role}.medchain.example/api".encode(),
                YEAR,
            )
            receipt = client.batch(account, [publish, service], sender=account)
            how = "batch: key + service endpoint"
        else:
            receipt = client.set_attribute(
                account, X25519_ENC_ATTRIBUTE, public, YEAR, sender=account
            )
            how = "direct"
        keys[role] = private
        publics[role] = public
        dids[role] = format_did(account.address, client.chain_id)
        ctx.console.print(
            f"{role:<11} {dids[role]}  key {public.hex()[:16]}...  ({how}, "
            f"{int(receipt.gas_used):,} gas)"
        )

    # The patient lets a guardian sign on their behalf (sigAuth delegate for a year).
    patient = ctx.accounts["patient"]
    client.add_delegate(patient, "sigAuth", ctx.accounts["guardian"], YEAR, sender=patient)
    resolution = resolver.resolve(dids["patient"])
    ctx.console.print(f"resolved {dids['patient']} ({resolver.log_queries} eth_getLogs call):")
    ctx.console.print_json(json.dumps(resolution.to_dict()))
