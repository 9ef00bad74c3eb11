// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @notice The refusals of EligibilityRegistry, in their own interface so that a contract that
/// relays them (TrialRegistry's enrollEligible) has them in its ABI and SDKs decode them.
interface IEligibilityErrors {
    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice A leaf must be a non-zero field element (zero marks a revoked or empty slot).
    error EligibilityInvalidLeaf(uint256 leaf);
    /// @notice A batch must hold 1..`max` leaves.
    error EligibilityInvalidBatch(uint256 count, uint256 max);
    /// @notice The issuer's tree holds 2^16 credentials; issue from another issuer account.
    error EligibilityTreeFull(address issuer, uint256 capacity);
    /// @notice `leaf` is not at `index` of the issuer's current tree (wrong path, wrong leaf,
    /// already revoked, or the tree changed since the path was read).
    error EligibilityNotACurrentLeaf(address issuer, uint256 index, uint256 leaf);
    /// @notice `issuer` does not hold ISSUER_ROLE (never did, or was removed).
    error EligibilityNotAnIssuer(address issuer);
    /// @notice `root` was never a root of the issuer's tree.
    error EligibilityUnknownRoot(address issuer, uint256 root);
    /// @notice `root` is older than the root history kept, or predates a revocation.
    error EligibilityStaleRoot(address issuer, uint256 root, uint256 rootSeq, uint256 currentSeq);
    /// @notice The proof's `today` is neither today's nor yesterday's UTC date (YYYYMMDD).
    error EligibilityWrongDate(uint256 today, uint256 chainToday);
    /// @notice The nullifier was already used in this scope (one use per holder per scope).
    error EligibilityNullifierSpent(uint256 scope, uint256 nullifier);
    /// @notice The Groth16 proof does not verify for these public signals.
    error EligibilityInvalidProof(uint256 scope, uint256 nullifier);
}

/// @title IEligibilityRegistry
/// @notice Zero-knowledge eligibility (docs/zk.md). Issuers (accounts holding ISSUER_ROLE,
/// identified by their did:ethr) append Poseidon commitments of credentials to their own
/// depth-16 Poseidon Merkle tree; a holder proves with Groth16 that a credential under a
/// recent root of an issuer's tree satisfies a verifier's criteria, with a nullifier that is
/// unique per holder per scope, where scope = keccak256(abi.encode(verifier, context)) >> 40
/// (216 bits) and `verifier` is the calling account or contract.
/// Public signals of the proof, in order: root, nullifier, scope << 32 | today (YYYYMMDD),
/// criteriaHash.
interface IEligibilityRegistry is IEligibilityErrors {
    /// @notice A Groth16 proof as snarkjs exports it for Solidity (b's coordinates swapped).
    struct Proof {
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
    }

    /// @notice A constructor address is zero.
    error EligibilityZeroAddress(string what);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice `issuer` appended credential `leaf` at `index`; its tree's root is now `root`
    /// (root number `rootSeq`). The credential's content reaches the holder encrypted, off chain.
    event CredentialIssued(address indexed issuer, uint256 index, uint256 leaf, uint256 root, uint256 rootSeq);
    /// @notice `issuer` zeroed the credential at `index`; every earlier root stopped verifying.
    event CredentialRevoked(address indexed issuer, uint256 index, uint256 root, uint256 rootSeq);
    /// @notice `verifier` accepted a proof for `criteriaHash` against `issuer`'s tree; the
    /// nullifier is now spent in `scope`.
    event EligibilityVerified(
        address indexed verifier, uint256 indexed scope, uint256 nullifier, address issuer, uint256 criteriaHash
    );
}

/// @notice What TrialRegistry (or any verifier contract) calls to consume a proof.
interface IEligibilityGate {
    /// @notice Checks a proof for the caller's scope `context` and spends its nullifier.
    function verifyEligibility(
        address issuer,
        uint256 criteriaHash,
        uint256 context,
        uint256 root,
        uint256 nullifier,
        uint256 today,
        IEligibilityRegistry.Proof calldata proof
    ) external;
}

/// @notice The snarkjs-exported Groth16 verifier (contracts/zk/Groth16Verifier.sol).
interface IGroth16Verifier {
    function verifyProof(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[4] calldata publicSignals
    ) external view returns (bool);
}

/// @notice contracts/zk/PoseidonT3.sol: circomlib's Poseidon of two field elements.
interface IPoseidonT3 {
    function hash(uint256[2] memory inputs) external pure returns (uint256);
}
