"""Storage tests get the js-ipfs node fixture from tests/ipfs_node.py."""

from ipfs_node import ipfs_api  # noqa: F401  (session-scoped js-ipfs node)
