"""web3.py on a proof-of-authority chain (Clique, QBFT, IBFT): block headers carry more
than 32 bytes of extraData (vanity + signer seal, or the validators' seals), which web3's
block formatter refuses unless `ExtraDataToPOAMiddleware` is installed.

ape 0.8.51 installs it when `has_poa_history` finds such a block, but with web3 7.x the
formatter raises a plain ValueError that ape's check swallows, so a Clique node reached by
URI is taken for a non-PoA chain and the first `get_block` fails ("... is 97 bytes, but
should be 32"). `ensure_poa_middleware` reads the raw latest header and installs it.
"""

from __future__ import annotations

from typing import Any

MAX_EXTRADATA = 32  # bytes allowed by the Ethereum yellow paper (and web3's formatter)


def ensure_poa_middleware(provider: Any = None) -> bool:
    """Install web3's ExtraDataToPOAMiddleware on the connected provider when its chain's
    headers carry oversized extraData; True when it was installed now."""
    from web3.middleware import ExtraDataToPOAMiddleware

    from medchain.deployments import connected_to_in_process_chain

    if provider is None:
        from ape import networks

        if connected_to_in_process_chain():
            return False
        provider = networks.provider
    web3 = getattr(provider, "web3", None)
    if web3 is None or ExtraDataToPOAMiddleware in web3.middleware_onion:
        return False
    if getattr(web3, "_medchain_poa_checked", False):  # one header read per connection,
        return False  # not one per client bound (every SDK client asks)
    raw = web3.provider.make_request("eth_getBlockByNumber", ["latest", False])
    web3._medchain_poa_checked = True  # after the read: a failed read is tried again
    extra = str((raw.get("result") or {}).get("extraData") or "0x")
    if len(bytes.fromhex(extra.removeprefix("0x"))) <= MAX_EXTRADATA:
        return False
    web3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return True


def prepare_connected_node(contract_names: list[str]) -> None:
    """Before deploying `contract_names` to the node ape is connected to: make web3 read its
    PoA headers, and refuse bytecode its EVM cannot run (`medchain.network.evm`)."""
    from medchain.network.evm import require_deployable

    ensure_poa_middleware()
    require_deployable(contract_names)
