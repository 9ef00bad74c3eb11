"""One anvil node with every contract deployed (medchain.deploy.deploy_all), a patient
with encrypted records in the embedded store, keys published on its DID, and the gateway
served by uvicorn on a loopback port, backed by a SQLite index."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from support.anvil import SDK_CHAIN_ID, deployed_anvil, free_port
from support.gateway import OBSERVATIONS, YEAR, observation, token


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    import uvicorn
    from web3 import HTTPProvider, Web3

    from medchain.consent import ConsentClient
    from medchain.gateway import Gateway
    from medchain.gateway.app import create_app
    from medchain.gateway.auth import ClientRegistration
    from medchain.gateway.chain import Chain
    from medchain.identity.client import DIDRegistryClient
    from medchain.identity.did import format_did
    from medchain.indexer import Indexer
    from medchain.keystore import X25519_ENC_ATTRIBUTE, generate_x25519, public_bytes
    from medchain.records import Recipient, Records, RecordsClient
    from medchain.storage.embedded import EmbeddedStore

    tmp = tmp_path_factory.mktemp("gateway")
    with deployed_anvil(tmp / "book") as (uri, book, ctx, roles):
        dids = DIDRegistryClient(ctx.contracts["DIDRegistry"])
        x25519: dict[str, Any] = {}
        for role in ("patient", "provider", "researcher"):
            private = generate_x25519()
            x25519[role] = private
            dids.set_attribute(roles[role], X25519_ENC_ATTRIBUTE, public_bytes(private), YEAR,
                               sender=roles[role])  # fmt: skip
        store = EmbeddedStore(tmp / "ipfs")
        records = Records(RecordsClient(ctx.contracts["RecordRegistry"], roles["patient"], book),
                          store, chain_id=SDK_CHAIN_ID)  # fmt: skip
        patient = str(roles["patient"].address)

        def recipient(role: str) -> Recipient:
            return Recipient(str(roles[role].address), public_bytes(x25519[role]), role)

        ids = []
        for category, code, text, when in OBSERVATIONS:
            body = json.dumps(observation(patient, category, code, text, when)).encode()
            put = records.put(body, patient=patient, scope="Observation",
                              recipients=[recipient("patient"), recipient("provider"),
                                          recipient("researcher")], sender=roles["patient"])  # fmt: skip
            ids.append("0x" + put.record_id.hex())
        consent = ConsentClient(ctx.contracts["ConsentRegistry"], roles["patient"])
        provider = roles["provider"]
        consent.grant(
            patient, provider, "Observation", "read,write", "TREAT", end=int(time.time()) + YEAR
        )
        for scope in ("Consent", "AuditEvent"):
            consent.grant(patient, provider, scope, "read", "TREAT")

        web3 = Web3(HTTPProvider(uri))
        chain = Chain.from_book(web3, book)
        indexer = Indexer.for_book(web3, book, f"sqlite:///{tmp / 'index.db'}")

        def registration(role: str, scopes: list[str]) -> ClientRegistration:
            from cryptography.hazmat.primitives.serialization import (
                Encoding,  # fmt: skip
                NoEncryption,
                PrivateFormat,
            )

            raw = x25519[role].private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
            return ClientRegistration(format_did(str(roles[role].address), SDK_CHAIN_ID), scopes,
                                      bytes.fromhex(roles[role].private_key[2:]), raw)  # fmt: skip

        clients = [registration("provider", ["system/*.crs"]),
                   registration("researcher", ["system/Observation.rs"])]  # fmt: skip
        gateway = Gateway(chain, store, indexer, clients, journal_dir=tmp / "journal")
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(gateway), host="127.0.0.1", port=port,
                                               log_level="warning"))  # fmt: skip
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}/"
        try:
            yield {
                "uri": uri, "base": base, "roles": roles, "ctx": ctx, "book": book,
                "patient": patient, "ids": ids, "consent": consent, "records": records,
                "clients": {c.did: c for c in clients}, "gateway": gateway, "web3": web3,
                "did": {r: format_did(str(roles[r].address), SDK_CHAIN_ID) for r in roles},
                "keys": {r: bytes.fromhex(roles[r].private_key[2:]) for r in roles},
                "tmp": tmp, "x25519": x25519,
            }  # fmt: skip
        finally:
            server.should_exit = True
            thread.join(timeout=10)


@pytest.fixture(scope="module")
def provider_token(env) -> str:
    return token(env["base"], env["did"]["provider"], env["keys"]["provider"])
