"""`medchain network …`: a consortium chain on this machine — N geth 1.13.15 signers
sealing Clique (proof-of-authority) blocks on loopback, statically peered — and a probe of
what any node's EVM runs. See docs/network.md.

    medchain network up                 # 3 signers, 1 s blocks, chain id 6334
    medchain network status             # each node's height, peers, signer
    ape run deploy --network http://127.0.0.1:18545 --account TEST::0
    medchain network down               # stop every node (chain data kept)
"""

from __future__ import annotations

from typing import Any

import click

from medchain.cli.options import offline_command
from medchain.cli.render import emit

name_option = click.option(
    "--name",
    default="default",
    show_default=True,
    help="Network name: its data lives in .medchain/network/<name>/.",
)


@click.group()
def network() -> None:
    """A multi-node proof-of-authority (Clique) consortium chain of geth processes."""


def _consortium_accounts(extra: tuple[str, ...]) -> list[str]:
    """The accounts genesis funds: every ape test account (the mnemonic in ape-config.yaml;
    test account i plays demo role i) plus any given with --fund."""
    from ape import accounts
    from eth_utils import is_address, to_checksum_address

    from medchain.errors import InvalidInput

    for address in extra:
        if not is_address(address):
            raise InvalidInput(f"--fund expects an address, got '{address}'")
    return [str(a.address) for a in accounts.test_accounts] + [
        to_checksum_address(a) for a in extra
    ]


def _human_status(status: dict[str, Any]) -> str:
    lines = [
        f"network {status['name']}: chain id {status['chain_id']}, Clique, "
        f"{status['period']} s blocks, gas limit {status['gas_limit']:,}, geth {status['geth']}",
        f"address book: {status['book']}   signers: {len(status['signers'])}",
        f"{'node':<6} {'url':<24} {'state':<8} {'block':>7} {'peers':>5}  signer",
    ]
    for row in status["nodes"]:
        state = "up" if row["running"] else "down"
        block = "-" if row["block"] is None else str(row["block"])
        peers = "-" if row["peers"] is None else str(row["peers"])
        lines.append(
            f"{row['node']:<6} {row['url']:<24} {state:<8} {block:>7} {peers:>5}  {row['signer']}"
        )
    return "\n".join(lines)


@offline_command(network, "up")
@name_option
@click.option("--signers", default=3, show_default=True, help="Number of signer nodes.")
@click.option("--period", default=1, show_default=True, help="Seconds between blocks.")
@click.option(
    "--base-port",
    default=18545,
    show_default=True,
    help="Node i serves HTTP on base+i, p2p on base+100+i, auth RPC on base+200+i "
    "(all 127.0.0.1); 0 picks free ports.",
)
@click.option("--chain-id", default=6334, show_default=True, help="Chain id fixed in genesis.")
@click.option("--fund", multiple=True, help="Another address to fund in genesis (repeatable).")
@click.option(
    "--fresh", is_flag=True, help="Delete an existing network of this name and start anew."
)
def network_up(
    name: str,
    signers: int,
    period: int,
    base_port: int,
    chain_id: int,
    fund: tuple[str, ...],
    fresh: bool,
    as_json: bool,
) -> None:
    """Create (first time) and start the network; an existing one restarts with its chain
    (settings other than --name then come from its manifest)."""
    from medchain.network import Network, create, destroy

    if fresh:
        destroy(name)
    if Network.exists(name):
        net = Network.load(name)
    else:
        net = create(
            name,
            signers=signers,
            period=period,
            chain_id=chain_id,
            base_port=base_port or None,
            funded=_consortium_accounts(fund),
        )
    try:
        net.start()
    except Exception:
        net.stop()
        raise
    emit(net.status(), as_json, human=_human_status)


@offline_command(network, "status")
@name_option
def network_status(name: str, as_json: bool) -> None:
    """Each node's process, block height, peers and signer address."""
    from medchain.network import Network

    emit(Network.load(name).status(), as_json, human=_human_status)


@offline_command(network, "down")
@name_option
@click.option(
    "--destroy", is_flag=True, help="Also delete the chain data and signer keys of the network."
)
def network_down(name: str, destroy: bool) -> None:
    """Stop every node cleanly (SIGTERM: geth writes its state; SIGKILL after 20 s)."""
    from medchain.network import Network
    from medchain.network import destroy as destroy_network

    net = Network.load(name)
    if destroy:
        destroy_network(name)
    else:
        net.stop()
    emit(
        {"network": name, "nodes": len(net.nodes), "deleted": destroy, "data": str(net.path)},
        human=lambda r: (
            f"network {r['network']}: stopped and deleted"
            if r["deleted"]
            else f"network {r['network']}: {r['nodes']} nodes stopped (data kept in {r['data']})"
        ),
    )


@offline_command(network, "probe")
@click.option("--url", required=True, help="JSON-RPC endpoint of any node.")
@click.option(
    "--evm-version",
    default=None,
    help="Refuse (exit 1) if the node lacks an opcode of this solc evm_version.",
)
def network_probe(url: str, evm_version: str | None, as_json: bool) -> None:
    """Which post-London opcodes the node's EVM runs (eth_call of tiny creation code)."""
    from medchain.network.evm import INTRODUCED, require_evm_support, rpc_caller, supported_opcodes

    caller = rpc_caller(url)
    if evm_version:
        require_evm_support(evm_version, caller, where=f" at {url}")
    result = supported_opcodes(caller)
    emit(
        result,
        as_json,
        human=lambda r: "\n".join(
            f"{op:<12} {INTRODUCED[op]:<9} {'yes' if ok else 'no'}" for op, ok in r.items()
        ),
    )


COMMANDS = [network]
