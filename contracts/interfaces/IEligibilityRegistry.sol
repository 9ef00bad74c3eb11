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

/// @notice What TrialRegistry (or any verifier contract) calls to consume a proof.
interface IEligibilityGate {
    /// @notice A Groth16 proof as snarkjs exports it for Solidity (b's coordinates swapped).
    struct Proof {
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
    }

    /// @notice Checks a proof that a credential of `issuer` meets `criteriaHash`, for the
    /// caller's scope `context`, and spends its nullifier there.
    /// The proof's scope is keccak256(abi.encode(msg.sender, context)) >> 40 ({scopeOf}).
    /// Requirements:
    /// - `issuer` holds ISSUER_ROLE; `root` is one of its last 128 roots and not older than its
    ///   last revocation; `today` is today's or yesterday's UTC date (YYYYMMDD);
    /// - the nullifier is unspent in the scope; the proof verifies for
    ///   (root, nullifier, scope, criteriaHash, today);
    /// - the registry is not paused (OpenZeppelin `EnforcedPause`; {checkEligibility} still answers).
    /// Emits {EligibilityVerified}.
    function verifyEligibility(
        address issuer,
        uint256 criteriaHash,
        uint256 context,
        uint256 root,
        uint256 nullifier,
        uint256 today,
        Proof calldata proof
    ) external;
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
interface IEligibilityRegistry is IEligibilityErrors, IEligibilityGate {
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

    /*//////////////////////////////////////////////////////////////
                               FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Role of credential issuers (each identified by its did:ethr).
    function ISSUER_ROLE() external view returns (bytes32);

    /// @notice Depth of every issuer's tree (must equal the circuit's).
    function DEPTH() external view returns (uint256);

    /// @notice Most leaves one {issueBatch} appends (bounds its gas).
    function MAX_BATCH() external view returns (uint256);

    /// @notice Roots of a tree that still verify: the current one and the 127 before it.
    function ROOT_HISTORY() external view returns (uint256);

    /// @notice The BN254 scalar field: every leaf, node and public signal is below it.
    function FIELD() external view returns (uint256);

    /// @notice The snarkjs Groth16 verifier of circuits/eligibility.circom.
    function verifier() external view returns (IGroth16Verifier);

    /// @notice Poseidon(2), circomlib-compatible.
    function poseidon() external view returns (IPoseidonT3);

    /// @notice The emergency guardian's role: it may call {pause} and nothing else.
    function GUARDIAN_ROLE() external view returns (bytes32);

    /// @notice Emergency pause until governance unpauses: stops {issue}, {issueBatch} and
    /// {verifyEligibility}. Reads ({checkEligibility} included), {revoke} and role
    /// administration stay open. `paused()` (OpenZeppelin Pausable) tells whether it is in force.
    /// Requirements: caller has GUARDIAN_ROLE; not paused already (`EnforcedPause`).
    /// Emits {Paused}.
    function pause() external;

    /// @notice Lift an emergency pause.
    /// Requirements: caller has DEFAULT_ADMIN_ROLE (governance), never the guardian;
    /// paused (`ExpectedPause`).
    /// Emits {Unpaused}.
    function unpause() external;

    /// @notice Appends a credential commitment to the caller's tree.
    /// @param leaf Poseidon(Poseidon(holderSecret), credType, date, birthDate, codes[4]).
    /// @return index The leaf's position; @return root The tree's new root.
    /// Requirements:
    /// - caller holds ISSUER_ROLE; leaf non-zero and below the field; tree not full.
    /// - the registry is not paused (OpenZeppelin `EnforcedPause`).
    /// Emits {CredentialIssued}.
    function issue(uint256 leaf) external returns (uint256 index, uint256 root);

    /// @notice Appends several credential commitments at once: the tree's new levels are
    /// computed together, so k leaves cost about k + 16 Poseidon hashes instead of 16 k.
    /// @return first The first leaf's position; @return root The tree's new root (one new root
    /// for the whole batch).
    /// Requirements:
    /// - caller holds ISSUER_ROLE; 1..MAX_BATCH leaves, each non-zero and below the field;
    ///   room in the tree for all of them.
    /// - the registry is not paused (OpenZeppelin `EnforcedPause`).
    /// Emits {CredentialIssued} per leaf.
    function issueBatch(uint256[] calldata leaves) external returns (uint256 first, uint256 root);

    /// @notice Zeroes the caller's credential at `index`; every earlier root stops verifying.
    /// @param leaf The credential's leaf; @param siblings Its path in the current tree.
    /// Requirements:
    /// - caller holds ISSUER_ROLE; `leaf` non-zero and at `index` under the current root.
    /// Open while the registry is paused: a pause never keeps a revoked credential alive.
    /// Emits {CredentialRevoked}.
    function revoke(
        uint256 index,
        uint256 leaf,
        uint256[16] calldata siblings
    ) external returns (uint256 root);


    /// @notice {verifyEligibility} without spending: would `verifier` accept this proof now?
    /// Reverts with the reason it would not.
    function checkEligibility(
        address verifier_,
        address issuer,
        uint256 criteriaHash,
        uint256 context,
        uint256 root,
        uint256 nullifier,
        uint256 today,
        Proof calldata proof
    ) external view returns (uint256 scope);

    /// @notice The scope of `verifier_`'s `context`: keccak256(abi.encode(verifier_, context)) >> 40,
    /// 216 bits, so that scope << 32 | today is one public signal below the field.
    function scopeOf(address verifier_, uint256 context) external pure returns (uint256);

    /// @notice An issuer's tree: leaves issued, current root, its number, first valid number.
    function tree(
        address issuer
    ) external view returns (uint256 size, uint256 root, uint256 rootSeq, uint256 validFrom);

    /// @notice The number of `root` among the issuer's roots (0: never a root).
    function rootSeqOf(address issuer, uint256 root) external view returns (uint256);

    /// @notice Whether `nullifier` was spent in `scope`.
    function isSpent(uint256 scope, uint256 nullifier) external view returns (bool);

    /// @notice Today's UTC date as YYYYMMDD (what proofs must state as `today`).
    function chainDate() external view returns (uint256);

    /// @notice The empty subtree's root at `level` (0..16): Z0 = 0, Z(i+1) = Poseidon(Zi, Zi).
    function zeroAt(uint256 level) external pure returns (uint256);
}

/// @notice The snarkjs-exported Groth16 verifier (contracts/zk/Groth16Verifier.sol).
interface IGroth16Verifier {
    /// @notice Whether (a, b, c) is a valid proof for `publicSignals` under the circuit's key.
    function verifyProof(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[4] calldata publicSignals
    ) external view returns (bool);
}

/// @notice contracts/zk/PoseidonT3.sol: circomlib's Poseidon of two field elements.
interface IPoseidonT3 {
    /// @notice Poseidon(inputs[0], inputs[1]) over the BN254 scalar field.
    function hash(uint256[2] memory inputs) external pure returns (uint256);
}
