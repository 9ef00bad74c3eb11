"""A multi-node proof-of-authority (Clique) consortium chain of geth processes on
loopback (`medchain network up|status|down`), and checks of what a node's EVM supports
before deploying to it. See docs/network.md."""

from medchain.network.clique import (
    CHAIN_ID,
    DEFAULT_BASE_PORT,
    DEFAULT_PERIOD,
    DEFAULT_SIGNERS,
    Network,
    NetworkError,
    Node,
    clique_extradata,
    clique_genesis,
    create,
    destroy,
)
from medchain.network.geth import GETH_VERSION, find_geth

__all__ = [
    "CHAIN_ID",
    "DEFAULT_BASE_PORT",
    "DEFAULT_PERIOD",
    "DEFAULT_SIGNERS",
    "GETH_VERSION",
    "Network",
    "NetworkError",
    "Node",
    "clique_extradata",
    "clique_genesis",
    "create",
    "destroy",
    "find_geth",
]
