"""Deploy spec for the identity domain: the did:ethr registry (no constructor
arguments, no roles: every identity controls itself)."""

from medchain.deploy import ContractSpec

SPECS = [ContractSpec(name="DIDRegistry")]
