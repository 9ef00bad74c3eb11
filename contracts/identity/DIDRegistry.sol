// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IDIDRegistry} from "../interfaces/IDIDRegistry.sol";

/// @title DIDRegistry
/// @notice did:ethr identity registry, ABI- and event-compatible with ERC-1056 (the
/// uport/ethr-did-registry contract): any address is an identity that owns itself until
/// it names another owner; owners add expiring delegates and publish attributes (keys,
/// services) as events that resolvers replay through the `previousChange` block list.
/// Beyond ERC-1056: EIP-712 signed calls (nonce, deadline, chain id, ERC-1271 contract
/// owners) and atomic batches of changes for one identity.
/// @dev Differences from the canonical registry that callers can observe:
///  - Changing the owner to the zero address deactivates the identity for good: the
///    canonical registry then lets the identity key control it again, while resolvers
///    already report it deactivated. Here `identityOwner` returns 0 and every change
///    reverts with {DIDDeactivated}.
///  - One nonce per owner serves both signing schemes: `nonce(owner)` (ERC-1056 name)
///    and `nonces(owner)` (EIP-712 name) return the same counter; {invalidateNonce}
///    burns it to cancel signed but unsent changes.
///  - A deactivated identity has no valid delegates: `validDelegate` answers false.
/// Versions are immutable (a proxy would cost more than the headroom under the ERC-1056
/// figures); a new version carries identities over from its `predecessor` by replaying
/// their event histories, committed to by Merkle roots that `importAdmin` (governance)
/// adds, through the permissionless {importHistory} (docs/upgrades.md, "DIDRegistry:
/// migration"). Native operations never read the import state; until the immutable
/// `importDeadline` they refuse identities this version has never seen change, so an
/// identity key that lost control in the predecessor cannot take the identity over here
/// before its import.
contract DIDRegistry is IDIDRegistry, EIP712, Nonces {
    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @dev secp256k1 order / 2: signatures with a larger `s` are the malleable twin.
    uint256 internal constant HALF_CURVE_ORDER =
        0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    bytes32 internal constant CHANGE_OWNER_TYPEHASH = keccak256(
        "ChangeOwner(address identity,address signer,address newOwner,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant ADD_DELEGATE_TYPEHASH = keccak256(
        "AddDelegate(address identity,address signer,bytes32 delegateType,address delegate,uint256 validity,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant REVOKE_DELEGATE_TYPEHASH = keccak256(
        "RevokeDelegate(address identity,address signer,bytes32 delegateType,address delegate,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant SET_ATTRIBUTE_TYPEHASH = keccak256(
        "SetAttribute(address identity,address signer,bytes32 name,bytes value,uint256 validity,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant REVOKE_ATTRIBUTE_TYPEHASH = keccak256(
        "RevokeAttribute(address identity,address signer,bytes32 name,bytes value,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant OPERATION_TYPEHASH =
        keccak256("Operation(uint8 kind,bytes32 name,address account,uint256 validity,bytes value)");
    bytes32 internal constant BATCH_TYPEHASH = keccak256(
        "Batch(address identity,address signer,Operation[] operations,uint256 nonce,uint256 deadline)"
        "Operation(uint8 kind,bytes32 name,address account,uint256 validity,bytes value)"
    );

    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev Packing (1 slot, 232 of 256 bits): owner (160) | changed (64) | deactivated (8).
    /// Owner and last-change block share a slot, so a first owner change writes one fresh
    /// slot instead of the canonical two. `owner == 0 && !deactivated` means "owns itself".
    struct IdentityRecord {
        address owner;
        uint64 changed;
        bool deactivated;
    }

    mapping(address identity => IdentityRecord) private _identities;

    /// @dev validTo = _delegates[identity][keccak256(abi.encode(delegateType))][delegate],
    /// keyed exactly as ERC-1056 so `delegates(...)` answers the same questions.
    mapping(address identity => mapping(bytes32 typeHash => mapping(address delegate => uint256)))
        private _delegates;

    /// @dev Import state, read and written only by {importHistory}/{addHistoryRoot}:
    /// native operations never read it (their only migration cost is {importDeadline},
    /// compared only while an identity's `changed` is zero).
    mapping(bytes32 root => bool) private _historyRoots;

    /// @dev Per identity, one slot: the `changed` block its last import left (64 bits, as
    /// in IdentityRecord) and how many predecessor changes were imported (192 bits).
    struct ImportState {
        uint64 changedAt;
        uint192 count;
    }

    mapping(address identity => ImportState) private _imports;

    /// @inheritdoc IDIDRegistry
    address public immutable predecessor;

    /// @inheritdoc IDIDRegistry
    address public immutable importAdmin;

    /// @inheritdoc IDIDRegistry
    uint256 public immutable importDeadline;

    /// @param predecessor_ The registry version identities are imported from (zero: first version).
    /// @param importAdmin_ Who may add history roots: the governance timelock (zero: no import).
    /// @param importDeadline_ Until this unix time, identities never changed here nor imported
    /// cannot be changed natively (zero: no such window; a first version). A deadline in
    /// the past is allowed and means no window.
    constructor(address predecessor_, address importAdmin_, uint256 importDeadline_)
        EIP712("DIDRegistry", "1")
    {
        // A window without any way to import would only lock every identity out.
        if (importDeadline_ != 0 && (predecessor_ == address(0) || importAdmin_ == address(0))) {
            revert DIDImportDeadlineWithoutImport(importDeadline_);
        }
        predecessor = predecessor_;
        importAdmin = importAdmin_;
        importDeadline = importDeadline_;
    }

    /*//////////////////////////////////////////////////////////////
                        EXTERNAL: ERC-1056 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IDIDRegistry
    function owners(address identity) external view returns (address) {
        return _identities[identity].owner;
    }

    /// @inheritdoc IDIDRegistry
    function delegates(address identity, bytes32 delegateTypeHash, address delegate)
        external
        view
        returns (uint256)
    {
        return _delegates[identity][delegateTypeHash][delegate];
    }

    /// @inheritdoc IDIDRegistry
    function changed(address identity) external view returns (uint256) {
        return _identities[identity].changed;
    }

    /// @inheritdoc IDIDRegistry
    function nonce(address owner) external view returns (uint256) {
        return nonces(owner);
    }

    /// @inheritdoc Nonces
    function nonces(address owner) public view override(IDIDRegistry, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    /// @inheritdoc IDIDRegistry
    function identityOwner(address identity) public view returns (address) {
        IdentityRecord memory rec = _identities[identity];
        if (rec.owner != address(0) || rec.deactivated) return rec.owner;
        return identity;
    }

    /// @inheritdoc IDIDRegistry
    function validDelegate(address identity, bytes32 delegateType, address delegate)
        external
        view
        returns (bool)
    {
        return !_identities[identity].deactivated
            && _delegates[identity][_typeKey(delegateType)][delegate] > block.timestamp;
    }

    /*//////////////////////////////////////////////////////////////
                       EXTERNAL: ERC-1056 CHANGES
    //////////////////////////////////////////////////////////////*/

    // Direct and legacy 0x19 0x00 signed.

    /// @inheritdoc IDIDRegistry
    function changeOwner(address identity, address newOwner) external {
        IdentityRecord memory rec = _identities[identity];
        _authorize(identity, rec, msg.sender);
        _changeOwner(identity, rec, newOwner);
        _identities[identity] = rec;
    }

    /// @inheritdoc IDIDRegistry
    function changeOwnerSigned(address identity, uint8 sigV, bytes32 sigR, bytes32 sigS, address newOwner)
        external
    {
        IdentityRecord memory rec = _identities[identity];
        address owner = _activeOwner(identity, rec);
        bytes32 hash = keccak256(
            abi.encodePacked(
                bytes1(0x19), bytes1(0), address(this), nonces(owner), identity, "changeOwner", newOwner
            )
        );
        _checkLegacy(identity, owner, hash, sigV, sigR, sigS);
        _changeOwner(identity, rec, newOwner);
        _identities[identity] = rec;
    }

    /// @inheritdoc IDIDRegistry
    function addDelegate(address identity, bytes32 delegateType, address delegate, uint256 validity)
        external
    {
        IdentityRecord memory rec = _identities[identity];
        _authorize(identity, rec, msg.sender);
        _addDelegate(identity, rec, delegateType, delegate, validity);
        _identities[identity].changed = rec.changed;
    }

    /// @inheritdoc IDIDRegistry
    function addDelegateSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 delegateType,
        address delegate,
        uint256 validity
    ) external {
        IdentityRecord memory rec = _identities[identity];
        address owner = _activeOwner(identity, rec);
        bytes32 hash = keccak256(
            abi.encodePacked(
                bytes1(0x19),
                bytes1(0),
                address(this),
                nonces(owner),
                identity,
                "addDelegate",
                delegateType,
                delegate,
                validity
            )
        );
        _checkLegacy(identity, owner, hash, sigV, sigR, sigS);
        _addDelegate(identity, rec, delegateType, delegate, validity);
        _identities[identity].changed = rec.changed;
    }

    /// @inheritdoc IDIDRegistry
    function revokeDelegate(address identity, bytes32 delegateType, address delegate) external {
        IdentityRecord memory rec = _identities[identity];
        _authorize(identity, rec, msg.sender);
        _revokeDelegate(identity, rec, delegateType, delegate);
        _identities[identity].changed = rec.changed;
    }

    /// @inheritdoc IDIDRegistry
    function revokeDelegateSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 delegateType,
        address delegate
    ) external {
        IdentityRecord memory rec = _identities[identity];
        address owner = _activeOwner(identity, rec);
        bytes32 hash = keccak256(
            abi.encodePacked(
                bytes1(0x19),
                bytes1(0),
                address(this),
                nonces(owner),
                identity,
                "revokeDelegate",
                delegateType,
                delegate
            )
        );
        _checkLegacy(identity, owner, hash, sigV, sigR, sigS);
        _revokeDelegate(identity, rec, delegateType, delegate);
        _identities[identity].changed = rec.changed;
    }

    /// @inheritdoc IDIDRegistry
    function setAttribute(address identity, bytes32 name, bytes calldata value, uint256 validity)
        external
    {
        IdentityRecord memory rec = _identities[identity];
        _authorize(identity, rec, msg.sender);
        _setAttribute(identity, rec, name, value, validity);
        _identities[identity].changed = rec.changed;
    }

    /// @inheritdoc IDIDRegistry
    function setAttributeSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 name,
        bytes calldata value,
        uint256 validity
    ) external {
        IdentityRecord memory rec = _identities[identity];
        address owner = _activeOwner(identity, rec);
        bytes32 hash = _legacyAttributeHash(identity, nonces(owner), "setAttribute", name, value, validity);
        _checkLegacy(identity, owner, hash, sigV, sigR, sigS);
        _setAttribute(identity, rec, name, value, validity);
        _identities[identity].changed = rec.changed;
    }

    /// @inheritdoc IDIDRegistry
    function revokeAttribute(address identity, bytes32 name, bytes calldata value) external {
        IdentityRecord memory rec = _identities[identity];
        _authorize(identity, rec, msg.sender);
        _revokeAttribute(identity, rec, name, value);
        _identities[identity].changed = rec.changed;
    }

    /// @inheritdoc IDIDRegistry
    function revokeAttributeSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 name,
        bytes calldata value
    ) external {
        IdentityRecord memory rec = _identities[identity];
        address owner = _activeOwner(identity, rec);
        bytes32 hash = keccak256(
            abi.encodePacked(
                bytes1(0x19),
                bytes1(0),
                address(this),
                nonces(owner),
                identity,
                "revokeAttribute",
                name,
                value
            )
        );
        _checkLegacy(identity, owner, hash, sigV, sigR, sigS);
        _revokeAttribute(identity, rec, name, value);
        _identities[identity].changed = rec.changed;
    }

    /*//////////////////////////////////////////////////////////////
                    EXTERNAL: EIP-712 SIGNED CHANGES
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IDIDRegistry
    function changeOwnerTyped(address identity, address newOwner, SignedAuth calldata auth) external {
        IdentityRecord memory rec = _identities[identity];
        bytes32 structHash = keccak256(
            abi.encode(CHANGE_OWNER_TYPEHASH, identity, auth.signer, newOwner, auth.nonce, auth.deadline)
        );
        _checkTyped(identity, rec, structHash, auth);
        _changeOwner(identity, rec, newOwner);
        _identities[identity] = rec;
    }

    /// @inheritdoc IDIDRegistry
    function addDelegateTyped(
        address identity,
        bytes32 delegateType,
        address delegate,
        uint256 validity,
        SignedAuth calldata auth
    ) external {
        IdentityRecord memory rec = _identities[identity];
        bytes32 structHash = keccak256(
            abi.encode(
                ADD_DELEGATE_TYPEHASH,
                identity,
                auth.signer,
                delegateType,
                delegate,
                validity,
                auth.nonce,
                auth.deadline
            )
        );
        _checkTyped(identity, rec, structHash, auth);
        _addDelegate(identity, rec, delegateType, delegate, validity);
        _identities[identity].changed = rec.changed;
    }

    /// @inheritdoc IDIDRegistry
    function revokeDelegateTyped(
        address identity,
        bytes32 delegateType,
        address delegate,
        SignedAuth calldata auth
    ) external {
        IdentityRecord memory rec = _identities[identity];
        bytes32 structHash = keccak256(
            abi.encode(
                REVOKE_DELEGATE_TYPEHASH, identity, auth.signer, delegateType, delegate, auth.nonce, auth.deadline
            )
        );
        _checkTyped(identity, rec, structHash, auth);
        _revokeDelegate(identity, rec, delegateType, delegate);
        _identities[identity].changed = rec.changed;
    }

    /// @inheritdoc IDIDRegistry
    function setAttributeTyped(
        address identity,
        bytes32 name,
        bytes calldata value,
        uint256 validity,
        SignedAuth calldata auth
    ) external {
        IdentityRecord memory rec = _identities[identity];
        bytes32 structHash = keccak256(
            abi.encode(
                SET_ATTRIBUTE_TYPEHASH,
                identity,
                auth.signer,
                name,
                keccak256(value),
                validity,
                auth.nonce,
                auth.deadline
            )
        );
        _checkTyped(identity, rec, structHash, auth);
        _setAttribute(identity, rec, name, value, validity);
        _identities[identity].changed = rec.changed;
    }

    /// @inheritdoc IDIDRegistry
    function revokeAttributeTyped(
        address identity,
        bytes32 name,
        bytes calldata value,
        SignedAuth calldata auth
    ) external {
        IdentityRecord memory rec = _identities[identity];
        bytes32 structHash = keccak256(
            abi.encode(
                REVOKE_ATTRIBUTE_TYPEHASH,
                identity,
                auth.signer,
                name,
                keccak256(value),
                auth.nonce,
                auth.deadline
            )
        );
        _checkTyped(identity, rec, structHash, auth);
        _revokeAttribute(identity, rec, name, value);
        _identities[identity].changed = rec.changed;
    }

    /// @inheritdoc IDIDRegistry
    function invalidateNonce() external {
        uint256 used = _useNonce(msg.sender);
        emit NonceInvalidated(msg.sender, used);
    }

    /*//////////////////////////////////////////////////////////////
                           EXTERNAL: BATCHES
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IDIDRegistry
    function batch(address identity, Operation[] calldata operations) external {
        _runBatch(identity, msg.sender, operations);
    }

    /// @inheritdoc IDIDRegistry
    function batchTyped(address identity, Operation[] calldata operations, SignedAuth calldata auth)
        external
    {
        bytes32 structHash = keccak256(
            abi.encode(
                BATCH_TYPEHASH, identity, auth.signer, _hashOperations(operations), auth.nonce, auth.deadline
            )
        );
        _checkTyped(identity, _identities[identity], structHash, auth);
        _runBatch(identity, auth.signer, operations);
    }

    /*//////////////////////////////////////////////////////////////
                   EXTERNAL: MIGRATION FROM A PREDECESSOR
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IDIDRegistry
    function isHistoryRoot(bytes32 root) external view returns (bool) {
        return _historyRoots[root];
    }

    /// @inheritdoc IDIDRegistry
    function importedCount(address identity) external view returns (uint256) {
        return _imports[identity].count;
    }

    /// @inheritdoc IDIDRegistry
    function importedChange(address identity) external view returns (uint256) {
        return _imports[identity].changedAt;
    }

    /// @inheritdoc IDIDRegistry
    function addHistoryRoot(bytes32 root) external {
        // importAdmin == 0 (a first version) matches no caller: msg.sender is never 0.
        if (msg.sender != importAdmin) revert DIDImportUnauthorized(msg.sender);
        _historyRoots[root] = true;
        emit DIDHistoryRootAdded(root);
    }

    /// @inheritdoc IDIDRegistry
    function removeHistoryRoot(bytes32 root) external {
        if (msg.sender != importAdmin) revert DIDImportUnauthorized(msg.sender);
        _historyRoots[root] = false;
        emit DIDHistoryRootRemoved(root);
    }

    /// @inheritdoc IDIDRegistry
    function importHistory(
        bytes32 root,
        address identity,
        uint256 fromIndex,
        HistoryChange[] calldata changes,
        bytes32[] calldata proof
    ) external {
        _importHistory(root, identity, fromIndex, changes, proof);
    }

    /// @inheritdoc IDIDRegistry
    function importHistories(HistoryImport[] calldata imports) external {
        for (uint256 i; i < imports.length; ++i) {
            HistoryImport calldata imp = imports[i];
            _importHistory(imp.root, imp.identity, imp.fromIndex, imp.changes, imp.proof);
        }
    }

    /*//////////////////////////////////////////////////////////////
                        INTERNAL: AUTHORISATION
    //////////////////////////////////////////////////////////////*/

    /// @dev The effective owner of an active identity; reverts once deactivated, and
    /// before the import deadline while the identity is unseen here. Every native write
    /// path (direct, legacy-signed, EIP-712, batch) asks this before acting.
    function _activeOwner(address identity, IdentityRecord memory rec) internal view returns (address) {
        // `changed` is 0 only if nothing, native or imported, ever wrote the identity here
        // (both set it to the block number), so it has no owner record and is not
        // deactivated: it owns itself. Only then may its own key be an owner the
        // predecessor already revoked; refuse until governance had time to import it.
        // The deadline is read only on this branch; later changes pay one compare.
        if (rec.changed == 0) {
            // An identity the predecessor never saw change has nothing to import and no
            // key that lost control there: it acts at once (one external read, only on
            // an identity's first change here, only before the deadline).
            if (block.timestamp < importDeadline && IDIDRegistry(predecessor).changed(identity) != 0) {
                revert DIDImportPending(identity, importDeadline);
            }
            return identity;
        }
        if (rec.deactivated) revert DIDDeactivated(identity);
        return rec.owner == address(0) ? identity : rec.owner;
    }

    function _authorize(address identity, IdentityRecord memory rec, address actor) internal view {
        address owner = _activeOwner(identity, rec);
        if (actor != owner) revert DIDNotOwner(identity, actor, owner);
    }

    /// @dev ERC-1056 meta-transaction check: recover the signer of `hash` and require the
    /// owner; consume the owner's nonce. High-s (malleable) signatures are refused as OZ
    /// ECDSA does; ecrecover yields 0 for invalid ones, and 0 is never an active owner.
    function _checkLegacy(address identity, address owner, bytes32 hash, uint8 v, bytes32 r, bytes32 s)
        internal
    {
        address recovered =
            uint256(s) > HALF_CURVE_ORDER ? address(0) : ecrecover(hash, v, r, s);
        if (recovered == address(0) || recovered != owner) {
            revert DIDInvalidLegacySignature(identity, recovered, owner);
        }
        _useNonce(owner);
    }

    /// @dev EIP-712 check: signer owns the identity, deadline not passed, nonce is the
    /// signer's next one (consumed), signature valid for the signer (ECDSA or ERC-1271).
    function _checkTyped(
        address identity,
        IdentityRecord memory rec,
        bytes32 structHash,
        SignedAuth calldata auth
    ) internal {
        _authorize(identity, rec, auth.signer);
        if (block.timestamp > auth.deadline) revert DIDSignatureExpired(auth.deadline, block.timestamp);
        uint256 expected = _useNonce(auth.signer);
        if (expected != auth.nonce) revert DIDInvalidNonce(auth.signer, expected, auth.nonce);
        if (!SignatureChecker.isValidSignatureNow(auth.signer, _hashTypedDataV4(structHash), auth.signature)) {
            revert DIDInvalidSignature(identity, auth.signer);
        }
    }

    function _legacyAttributeHash(
        address identity,
        uint256 ownerNonce,
        string memory action,
        bytes32 name,
        bytes calldata value,
        uint256 validity
    ) internal view returns (bytes32) {
        return keccak256(
            abi.encodePacked(
                bytes1(0x19), bytes1(0), address(this), ownerNonce, identity, action, name, value, validity
            )
        );
    }

    /// @dev EIP-712 encoding of Operation[]: keccak256 of the concatenated struct hashes.
    /// The loop is bounded by calldata the caller paid for, not by storage.
    function _hashOperations(Operation[] calldata operations) internal pure returns (bytes32) {
        bytes32[] memory hashes = new bytes32[](operations.length);
        for (uint256 i; i < operations.length; ++i) {
            Operation calldata op = operations[i];
            hashes[i] = keccak256(
                abi.encode(OPERATION_TYPEHASH, op.kind, op.name, op.account, op.validity, keccak256(op.value))
            );
        }
        return keccak256(abi.encodePacked(hashes));
    }

    /*//////////////////////////////////////////////////////////////
                           INTERNAL: CHANGES
    //////////////////////////////////////////////////////////////*/

    // Update `rec` in memory; callers write it back once.

    function _runBatch(address identity, address actor, Operation[] calldata operations) internal {
        uint256 count = operations.length;
        if (count == 0) revert DIDEmptyBatch(identity);
        IdentityRecord memory rec = _identities[identity];
        for (uint256 i; i < count; ++i) {
            Operation calldata op = operations[i];
            _authorize(identity, rec, actor);
            uint8 kind = op.kind;
            if (kind == uint8(OperationKind.SetAttribute)) {
                _setAttribute(identity, rec, op.name, op.value, op.validity);
            } else if (kind == uint8(OperationKind.RevokeAttribute)) {
                _revokeAttribute(identity, rec, op.name, op.value);
            } else if (kind == uint8(OperationKind.AddDelegate)) {
                _addDelegate(identity, rec, op.name, op.account, op.validity);
            } else if (kind == uint8(OperationKind.RevokeDelegate)) {
                _revokeDelegate(identity, rec, op.name, op.account);
            } else if (kind == uint8(OperationKind.ChangeOwner)) {
                _changeOwner(identity, rec, op.account);
            } else {
                revert DIDUnknownOperation(i, kind);
            }
        }
        _identities[identity] = rec;
    }

    /// @dev Replays part of an identity's history from the predecessor. Anyone may relay a
    /// leaf of a voted root: the root, not the caller, vouches for the content (attributes
    /// live only in the predecessor's logs, which the EVM cannot read). The replay writes
    /// what the native operations wrote there (owner, deactivation, delegate expiry) and
    /// emits the same events with this registry's previousChange list, keeping each change's
    /// absolute validTo so resolvers number and date entries exactly as before.
    function _importHistory(
        bytes32 root,
        address identity,
        uint256 fromIndex,
        HistoryChange[] calldata changes,
        bytes32[] calldata proof
    ) internal {
        if (!_historyRoots[root]) revert DIDImportUnknownRoot(root);
        IdentityRecord memory rec = _identities[identity];
        ImportState memory state = _imports[identity];
        // Once the identity has changed here natively, its history in this version is its
        // own: old-version changes can no longer be spliced in before or after it. (A
        // native change in the very block of an import leaves `changed` as the import
        // left it and is not seen here; the SDK counts events instead, docs/upgrades.md.)
        if (rec.changed != state.changedAt) {
            revert DIDImportAfterNativeChange(identity, rec.changed, state.changedAt);
        }
        if (fromIndex != state.count) revert DIDImportOutOfOrder(identity, state.count, fromIndex);
        uint256 count = changes.length;
        if (count == 0) revert DIDImportEmpty(identity);
        // OpenZeppelin StandardMerkleTree leaf: keccak256(keccak256(abi.encode(values))).
        bytes32 leaf = keccak256(
            bytes.concat(keccak256(abi.encode(identity, fromIndex, keccak256(abi.encode(changes)))))
        );
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) {
            revert DIDImportInvalidProof(root, identity, fromIndex);
        }
        _replay(identity, rec, changes);
        _identities[identity] = rec;
        // count < 2^192: each change costs gas, so no chain can replay that many.
        _imports[identity] = ImportState(rec.changed, uint192(fromIndex + count));
        emit DIDHistoryImported(identity, root, fromIndex, count);
    }

    /// @dev The writes and events of {_importHistory}'s changes, in order, into `rec`.
    function _replay(address identity, IdentityRecord memory rec, HistoryChange[] calldata changes) internal {
        for (uint256 i; i < changes.length; ++i) {
            HistoryChange calldata change = changes[i];
            uint8 kind = change.kind;
            if (kind == uint8(ChangeKind.Attribute)) {
                emit DIDAttributeChanged(identity, change.name, change.value, change.validTo, rec.changed);
            } else if (kind == uint8(ChangeKind.Delegate)) {
                _delegates[identity][_typeKey(change.name)][change.account] = change.validTo;
                emit DIDDelegateChanged(identity, change.name, change.account, change.validTo, rec.changed);
            } else if (kind == uint8(ChangeKind.Owner)) {
                rec.owner = change.account;
                rec.deactivated = change.account == address(0);
                emit DIDOwnerChanged(identity, change.account, rec.changed);
            } else {
                revert DIDUnknownOperation(i, kind);
            }
            rec.changed = _blockNumber();
        }
    }

    function _changeOwner(address identity, IdentityRecord memory rec, address newOwner) internal {
        rec.owner = newOwner;
        rec.deactivated = newOwner == address(0);
        emit DIDOwnerChanged(identity, newOwner, rec.changed);
        rec.changed = _blockNumber();
    }

    function _addDelegate(
        address identity,
        IdentityRecord memory rec,
        bytes32 delegateType,
        address delegate,
        uint256 validity
    ) internal {
        uint256 validTo = _validTo(validity);
        _delegates[identity][_typeKey(delegateType)][delegate] = validTo;
        emit DIDDelegateChanged(identity, delegateType, delegate, validTo, rec.changed);
        rec.changed = _blockNumber();
    }

    function _revokeDelegate(address identity, IdentityRecord memory rec, bytes32 delegateType, address delegate)
        internal
    {
        _delegates[identity][_typeKey(delegateType)][delegate] = block.timestamp;
        emit DIDDelegateChanged(identity, delegateType, delegate, block.timestamp, rec.changed);
        rec.changed = _blockNumber();
    }

    function _setAttribute(
        address identity,
        IdentityRecord memory rec,
        bytes32 name,
        bytes calldata value,
        uint256 validity
    ) internal {
        emit DIDAttributeChanged(identity, name, value, _validTo(validity), rec.changed);
        rec.changed = _blockNumber();
    }

    function _revokeAttribute(address identity, IdentityRecord memory rec, bytes32 name, bytes calldata value)
        internal
    {
        emit DIDAttributeChanged(identity, name, value, 0, rec.changed);
        rec.changed = _blockNumber();
    }

    function _validTo(uint256 validity) internal view returns (uint256 validTo) {
        // Unchecked so an overflow becomes a named error rather than a bare panic; the
        // wrap-around comparison below detects it.
        unchecked {
            validTo = block.timestamp + validity;
        }
        if (validTo < validity) revert DIDValidityOverflow(validity);
    }

    function _typeKey(bytes32 delegateType) internal pure returns (bytes32) {
        return keccak256(abi.encode(delegateType));
    }

    function _blockNumber() internal view returns (uint64) {
        // Block numbers fit in 64 bits for billions of years at one block per second.
        return uint64(block.number);
    }
}
