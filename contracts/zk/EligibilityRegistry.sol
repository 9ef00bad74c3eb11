// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {
    IEligibilityRegistry, IEligibilityGate, IGroth16Verifier, IPoseidonT3
} from "../interfaces/IEligibilityRegistry.sol";

/// @title EligibilityRegistry
/// @notice Credential trees of issuers and the gate in front of the Groth16 verifier: a holder
/// proves that a credential under a recent root of an issuer's tree meets a verifier's criteria,
/// without revealing the credential or the holder; the nullifier is spent per scope, so one
/// holder passes once per scope (a trial), and scopes cannot be linked.
/// @dev Trees: one incremental Poseidon Merkle tree of depth 16 per issuer (65,536 leaves),
/// frontier (`_frontier`) plus a precomputed zero ladder, as in Tornado Cash / Semaphore.
/// Revocation re-roots: the issuer zeroes the leaf (giving its path) and every earlier root of
/// its tree stops verifying, so a revoked credential cannot be proved against any root.
/// Emergency pause (docs/governance.md): GUARDIAN_ROLE may pause issuing and verifying, only
/// the admin (governance) unpauses; revocations and reads stay open. No slot the writes read
/// anyway can hold the flag (every one is per issuer), so the check is one cold read.
contract EligibilityRegistry is IEligibilityRegistry, AccessControl, Pausable {
    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IEligibilityRegistry
    bytes32 public constant ISSUER_ROLE = keccak256("medchain.zk.ISSUER_ROLE");
    /// @inheritdoc IEligibilityRegistry
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    /// @inheritdoc IEligibilityRegistry
    uint256 public constant DEPTH = 16;
    /// @inheritdoc IEligibilityRegistry
    uint256 public constant MAX_BATCH = 256;
    /// @inheritdoc IEligibilityRegistry
    uint256 public constant ROOT_HISTORY = 128;
    /// @inheritdoc IEligibilityRegistry
    uint256 public constant FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @inheritdoc IEligibilityRegistry
    IGroth16Verifier public immutable verifier;
    /// @inheritdoc IEligibilityRegistry
    IPoseidonT3 public immutable poseidon;

    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev Packing: size (32) | rootSeq (32) | validFrom (32) in one slot; root in the next.
    /// rootSeq numbers the tree's roots from 1; roots numbered below validFrom predate a
    /// revocation and never verify again.
    struct Tree {
        uint32 size;
        uint32 rootSeq;
        uint32 validFrom;
        uint256 root;
    }

    mapping(address issuer => Tree) private _trees;
    /// @dev Per level, the last left node (the frontier the next insertion hashes against).
    mapping(address issuer => uint256[16]) private _frontier;
    /// @dev Every root the tree ever had => its number (0 = never a root).
    mapping(address issuer => mapping(uint256 root => uint256 seq)) private _rootSeq;
    mapping(uint256 scope => mapping(uint256 nullifier => bool)) private _spent;

    /// @param verifier_ The Groth16 verifier; @param poseidon_ PoseidonT3; @param admin Role admin.
    constructor(IGroth16Verifier verifier_, IPoseidonT3 poseidon_, address admin) {
        if (address(verifier_) == address(0)) revert EligibilityZeroAddress("verifier");
        if (address(poseidon_) == address(0)) revert EligibilityZeroAddress("poseidon");
        if (admin == address(0)) revert EligibilityZeroAddress("admin");
        verifier = verifier_;
        poseidon = poseidon_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /*//////////////////////////////////////////////////////////////
                                ISSUING
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IEligibilityRegistry
    function issue(uint256 leaf) external onlyRole(ISSUER_ROLE) whenNotPaused returns (uint256 index, uint256 root) {
        if (leaf == 0 || leaf >= FIELD) revert EligibilityInvalidLeaf(leaf);
        Tree storage tree = _trees[msg.sender];
        index = tree.size;
        if (index >= 1 << DEPTH) revert EligibilityTreeFull(msg.sender, 1 << DEPTH);
        uint256[16] storage frontier = _frontier[msg.sender];
        uint256 node = leaf;
        uint256 i = index;
        // One leaf: {_insert}'s walk with a single node per level, without its arrays.
        for (uint256 level = 0; level < DEPTH; ++level) {
            if (i & 1 == 0) {
                _frontier[msg.sender][level] = node;
                node = _hash(node, _zero(level));
            } else {
                node = _hash(frontier[level], node);
            }
            i >>= 1;
        }
        root = node;
        uint256 seq = _setRoot(tree, root);
        // index < 2^16 (checked above).
        tree.size = uint32(index + 1);
        emit CredentialIssued(msg.sender, index, leaf, root, seq);
    }

    /// @inheritdoc IEligibilityRegistry
    function issueBatch(uint256[] calldata leaves)
        external
        onlyRole(ISSUER_ROLE)
        whenNotPaused
        returns (uint256 first, uint256 root) {
        if (leaves.length == 0 || leaves.length > MAX_BATCH) revert EligibilityInvalidBatch(leaves.length, MAX_BATCH);
        return _insert(leaves);
    }

    /// @inheritdoc IEligibilityRegistry
    /// @dev Not paused: a pause must never keep a credential its issuer withdrew alive.
    function revoke(uint256 index, uint256 leaf, uint256[16] calldata siblings)
        external
        onlyRole(ISSUER_ROLE)
        returns (uint256 root)
    {
        Tree storage tree = _trees[msg.sender];
        uint256 size = tree.size;
        if (leaf == 0 || index >= size) revert EligibilityNotACurrentLeaf(msg.sender, index, leaf);
        uint256 last = size - 1;
        uint256 oldNode = leaf;
        uint256 newNode = 0;
        for (uint256 level = 0; level < DEPTH; ++level) {
            uint256 position = index >> level;
            // The frontier holds node ((last >> level) & ~1) of each level: keep it current.
            if (position == (last >> level) & ~uint256(1)) _frontier[msg.sender][level] = newNode;
            if (position & 1 == 0) {
                oldNode = _hash(oldNode, siblings[level]);
                newNode = _hash(newNode, siblings[level]);
            } else {
                oldNode = _hash(siblings[level], oldNode);
                newNode = _hash(siblings[level], newNode);
            }
        }
        if (oldNode != tree.root) revert EligibilityNotACurrentLeaf(msg.sender, index, leaf);
        root = newNode;
        uint256 seq = _setRoot(tree, root);
        // seq < 2^32: one root per transaction.
        tree.validFrom = uint32(seq);
        emit CredentialRevoked(msg.sender, index, root, seq);
    }

    /*//////////////////////////////////////////////////////////////
                            EMERGENCY PAUSE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IEligibilityRegistry
    function pause() external onlyRole(GUARDIAN_ROLE) {
        _pause();
    }

    /// @inheritdoc IEligibilityRegistry
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    /*//////////////////////////////////////////////////////////////
                               VERIFYING
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IEligibilityGate
    function verifyEligibility(
        address issuer,
        uint256 criteriaHash,
        uint256 context,
        uint256 root,
        uint256 nullifier,
        uint256 today,
        Proof calldata proof
    ) external whenNotPaused {
        uint256 scope = scopeOf(msg.sender, context);
        _check(issuer, today, [root, nullifier, scope << 32 | today, criteriaHash], proof);
        _spent[scope][nullifier] = true;
        emit EligibilityVerified(msg.sender, scope, nullifier, issuer, criteriaHash);
    }

    /// @inheritdoc IEligibilityRegistry
    function checkEligibility(
        address verifier_,
        address issuer,
        uint256 criteriaHash,
        uint256 context,
        uint256 root,
        uint256 nullifier,
        uint256 today,
        Proof calldata proof
    ) external view returns (uint256 scope) {
        scope = scopeOf(verifier_, context);
        _check(issuer, today, [root, nullifier, scope << 32 | today, criteriaHash], proof);
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IEligibilityRegistry
    function scopeOf(address verifier_, uint256 context) public pure returns (uint256) {
        return uint256(keccak256(abi.encode(verifier_, context))) >> 40;
    }

    /// @inheritdoc IEligibilityRegistry
    function tree(address issuer) external view returns (uint256 size, uint256 root, uint256 rootSeq, uint256 validFrom) {
        Tree storage t = _trees[issuer];
        return (t.size, t.root, t.rootSeq, t.validFrom);
    }

    /// @inheritdoc IEligibilityRegistry
    function rootSeqOf(address issuer, uint256 root) external view returns (uint256) {
        return _rootSeq[issuer][root];
    }

    /// @inheritdoc IEligibilityRegistry
    function isSpent(uint256 scope, uint256 nullifier) external view returns (bool) {
        return _spent[scope][nullifier];
    }

    /// @inheritdoc IEligibilityRegistry
    function chainDate() public view returns (uint256) {
        return _date(block.timestamp);
    }

    /// @inheritdoc IEligibilityRegistry
    function zeroAt(uint256 level) external pure returns (uint256) {
        return _zero(level);
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    /// @dev signals = [root, nullifier, scope << 32 | today, criteriaHash], the circuit's order.
    /// `today` is range-checked here (< 2^32) so it cannot spill into the scope's bits.
    function _check(address issuer, uint256 today, uint256[4] memory signals, Proof calldata proof) private view {
        if (!hasRole(ISSUER_ROLE, issuer)) revert EligibilityNotAnIssuer(issuer);
        uint256 seq = _rootSeq[issuer][signals[0]];
        if (seq == 0) revert EligibilityUnknownRoot(issuer, signals[0]);
        Tree storage t = _trees[issuer];
        uint256 current = t.rootSeq;
        if (seq < t.validFrom || current - seq >= ROOT_HISTORY) revert EligibilityStaleRoot(issuer, signals[0], seq, current);
        uint256 chainToday = _date(block.timestamp);
        if (today != chainToday && today != _date(block.timestamp - 1 days)) revert EligibilityWrongDate(today, chainToday);
        uint256 scope = signals[2] >> 32;
        if (_spent[scope][signals[1]]) revert EligibilityNullifierSpent(scope, signals[1]);
        if (!verifier.verifyProof(proof.a, proof.b, proof.c, signals)) revert EligibilityInvalidProof(scope, signals[1]);
    }

    /// @dev Appends `leaves` level by level. At each level the batch's nodes span indices
    /// [start, start + n); a left sibling before `start` is the frontier node, a right sibling
    /// past the end is the empty subtree; the frontier keeps node ((last) & ~1) of each level,
    /// the left node the next insertion hashes against (the invariant {revoke} also keeps).
    function _insert(uint256[] calldata leaves) private returns (uint256 first, uint256 root) {
        Tree storage tree = _trees[msg.sender];
        first = tree.size;
        uint256 count = leaves.length;
        if (first + count > 1 << DEPTH) revert EligibilityTreeFull(msg.sender, 1 << DEPTH);
        for (uint256 i = 0; i < count; ++i) {
            uint256 leaf = leaves[i];
            if (leaf == 0 || leaf >= FIELD) revert EligibilityInvalidLeaf(leaf);
        }
        uint256[16] storage frontier = _frontier[msg.sender];
        uint256[] memory nodes = leaves;
        uint256 start = first;
        for (uint256 level = 0; level < DEPTH; ++level) {
            uint256 n = nodes.length;
            uint256 last = start + n - 1;
            // the frontier node is needed only when the batch starts on a right child
            uint256 left = start & 1 == 1 ? frontier[level] : 0;
            uint256 keep = last & ~uint256(1);
            if (keep >= start) _frontier[msg.sender][level] = nodes[keep - start];
            uint256 firstParent = start >> 1;
            uint256[] memory parents = new uint256[]((last >> 1) - firstParent + 1);
            for (uint256 p = 0; p < parents.length; ++p) {
                uint256 l = (firstParent + p) << 1;
                uint256 a = l < start ? left : nodes[l - start];
                uint256 b = l + 1 <= last ? nodes[l + 1 - start] : _zero(level);
                parents[p] = _hash(a, b);
            }
            nodes = parents;
            start = firstParent;
        }
        root = nodes[0];
        uint256 seq = _setRoot(tree, root);
        // first + count <= 2^16 (checked above).
        tree.size = uint32(first + count);
        for (uint256 i = 0; i < count; ++i) {
            emit CredentialIssued(msg.sender, first + i, leaves[i], root, seq);
        }
    }

    function _setRoot(Tree storage tree, uint256 root) private returns (uint256 seq) {
        // rootSeq < 2^32: one root per transaction.
        unchecked {
            seq = uint256(tree.rootSeq) + 1;
        }
        tree.rootSeq = uint32(seq);
        tree.root = root;
        _rootSeq[msg.sender][root] = seq;
    }

    function _hash(uint256 left, uint256 right) private view returns (uint256) {
        return poseidon.hash([left, right]);
    }

    /// @dev UTC calendar date of a Unix time as YYYYMMDD (H. Hinnant's civil_from_days).
    // Calendar arithmetic divides on purpose (whole eras, years, months); exact for every
    // date, checked against Python's calendar in tests/zk.
    // slither-disable-start divide-before-multiply
    function _date(uint256 timestamp) private pure returns (uint256) {
        uint256 z = timestamp / 1 days + 719468;
        uint256 era = z / 146097;
        uint256 doe = z - era * 146097;
        uint256 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        uint256 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        uint256 mp = (5 * doy + 2) / 153;
        uint256 day = doy - (153 * mp + 2) / 5 + 1;
        uint256 month = mp < 10 ? mp + 3 : mp - 9;
        uint256 year = yoe + era * 400 + (month <= 2 ? 1 : 0);
        return year * 10000 + month * 100 + day;
    }
    // slither-disable-end divide-before-multiply

    /// @dev The zero ladder (computed with medchain.zk.poseidon; checked against PoseidonT3 in tests).
    function _zero(uint256 level) private pure returns (uint256) {
        if (level == 0) return 0x0000000000000000000000000000000000000000000000000000000000000000;
        if (level == 1) return 0x2098f5fb9e239eab3ceac3f27b81e481dc3124d55ffed523a839ee8446b64864;
        if (level == 2) return 0x1069673dcdb12263df301a6ff584a7ec261a44cb9dc68df067a4774460b1f1e1;
        if (level == 3) return 0x18f43331537ee2af2e3d758d50f72106467c6eea50371dd528d57eb2b856d238;
        if (level == 4) return 0x07f9d837cb17b0d36320ffe93ba52345f1b728571a568265caac97559dbc952a;
        if (level == 5) return 0x2b94cf5e8746b3f5c9631f4c5df32907a699c58c94b2ad4d7b5cec1639183f55;
        if (level == 6) return 0x2dee93c5a666459646ea7d22cca9e1bcfed71e6951b953611d11dda32ea09d78;
        if (level == 7) return 0x078295e5a22b84e982cf601eb639597b8b0515a88cb5ac7fa8a4aabe3c87349d;
        if (level == 8) return 0x2fa5e5f18f6027a6501bec864564472a616b2e274a41211a444cbe3a99f3cc61;
        if (level == 9) return 0x0e884376d0d8fd21ecb780389e941f66e45e7acce3e228ab3e2156a614fcd747;
        if (level == 10) return 0x1b7201da72494f1e28717ad1a52eb469f95892f957713533de6175e5da190af2;
        if (level == 11) return 0x1f8d8822725e36385200c0b201249819a6e6e1e4650808b5bebc6bface7d7636;
        if (level == 12) return 0x2c5d82f66c914bafb9701589ba8cfcfb6162b0a12acf88a8d0879a0471b5f85a;
        if (level == 13) return 0x14c54148a0940bb820957f5adf3fa1134ef5c4aaa113f4646458f270e0bfbfd0;
        if (level == 14) return 0x190d33b12f986f961e10c0ee44d8b9af11be25588cad89d416118e4bf4ebe80c;
        if (level == 15) return 0x22f98aa9ce704152ac17354914ad73ed1167ae6596af510aa5b3649325e06c92;
        return 0x2a7c7c9b6ce5880b9f6f228d72bf6a575a526f29c66ecceef8b753d38bba7323;
    }
}
