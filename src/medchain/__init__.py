"""medchain: healthcare smart contracts on Ethereum-compatible chains, with a Python SDK.

Health data never goes on chain: payloads are encrypted client-side and stored on
IPFS; contracts hold content hashes, references and access metadata.
"""

__version__ = "0.1.0"
