"""Zero-knowledge eligibility (docs/zk.md): Poseidon credential commitments in issuers'
on-chain Merkle trees, Groth16 proofs (circom 2 + snarkjs) of predicates over them, and
nullifiers per verifier scope."""

from medchain.zk.client import EligibilityClient, Issued, open_credential, seal_credential
from medchain.zk.model import (
    DEPTH,
    Credential,
    CredentialNotFound,
    CredType,
    Criteria,
    Holder,
    IssuerTree,
    NotEligible,
    ZkError,
    date_int,
    encode_code,
    scope_of,
    utc_date,
)
from medchain.zk.poseidon import FIELD, poseidon
from medchain.zk.prover import Proof, prove

__all__ = [
    "DEPTH",
    "FIELD",
    "CredType",
    "Credential",
    "CredentialNotFound",
    "Criteria",
    "EligibilityClient",
    "Holder",
    "Issued",
    "IssuerTree",
    "NotEligible",
    "Proof",
    "ZkError",
    "date_int",
    "encode_code",
    "open_credential",
    "poseidon",
    "prove",
    "scope_of",
    "seal_credential",
    "utc_date",
]
