"""Storage tests get the Kubo node and IPFS Cluster fixtures from tests/ipfs_node.py."""

from ipfs_node import ipfs_api, ipfs_cluster  # noqa: F401  (Kubo node, 3-peer cluster)
