// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title RecordRegistry
/// @notice Anchors encrypted health records stored off chain: per record its CID and
/// ciphertext hash, type, schema version, author and time, plus one key-envelope CID per
/// recipient. No health data is ever stored or logged here, only content addresses.
/// Authority always comes from the DID registry's current state: writers are the patient's
/// current DID owner, a DID delegate of type RECORDS_DELEGATE_TYPE (ERC-1056 registry), or
/// whoever the optional write authorizer (the consent registry) allows; a deactivated
/// identity gives nobody any power over its records. Record ids are derived from the author
/// (no squatting). Append-only: corrections are new versions linked to the record they
/// supersede, made only by the superseded record's author or the patient's manager.
/// Every write costs the same whatever the number of patients or records.
/// Upgradeable in place (UUPS behind an ERC-1967 proxy, docs/upgrades.md): the proxy address
/// never changes and keeps every record; all state lives in one ERC-7201 namespace, so a
/// later version may only append to it (checked by OpenZeppelin's upgrades-core in tests).
/// Emergency pause (docs/governance.md): GUARDIAN_ROLE may pause, only the admin (governance)
/// unpauses. A pause stops anchoring and sharing; reads, the patient's erasure, the admin's
/// configuration and upgrades stay open (an upgrade is how governance fixes a paused registry).

import {AccessControlUpgradeable} from
    "@openzeppelin/contracts-upgradeable/access/AccessControlUpgradeable.sol";
import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {PausableUpgradeable} from "@openzeppelin/contracts-upgradeable/utils/PausableUpgradeable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {IDIDRegistry} from "../interfaces/IDIDRegistry.sol";
import {IRecordRegistry} from "../interfaces/IRecordRegistry.sol";
import {IRecordWriteAuthorizer} from "../interfaces/IRecordWriteAuthorizer.sol";

contract RecordRegistry is
    IRecordRegistry,
    Initializable,
    AccessControlUpgradeable,
    PausableUpgradeable,
    UUPSUpgradeable
{
    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IRecordRegistry
    bytes32 public constant RECORDS_DELEGATE_TYPE = keccak256("medchain/records");

    /// @inheritdoc IRecordRegistry
    uint256 public constant MAX_ENVELOPES = 16;

    /// @inheritdoc IRecordRegistry
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    // CID kinds stored in one byte instead of the 2-4 byte binary prefix.
    uint8 private constant _CID_V0 = 1; // 0x1220 ++ digest
    uint8 private constant _CID_V1_DAG_PB = 2; // 0x01 0x70 0x12 0x20 ++ digest
    uint8 private constant _CID_V1_RAW = 3; // 0x01 0x55 0x12 0x20 ++ digest

    /// @dev keccak256(abi.encode(uint256(keccak256("medchain.storage.RecordRegistry")) - 1))
    /// & ~bytes32(uint256(0xff)): the ERC-7201 slot of RecordRegistryStorage.
    bytes32 private constant _STORAGE_SLOT =
        0x9e7755a1e2871a4e82e7d43070e0a4271fbd9998ec268b2d036966761fb00900;

    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev Packing: slot 0 = patient (20) | anchoredAt (5) | version (4) | schemaVersion (2)
    /// | cidKind (1) = 32 bytes; slot 1 = author (20); slots 2-5 = cidDigest, contentHash,
    /// scope, supersedes. author is left zero (unwritten) when the patient writes, and
    /// supersedes for first versions: the common record costs four fresh slots.
    struct Record {
        address patient;
        uint40 anchoredAt;
        uint32 version;
        uint16 schemaVersion;
        uint8 cidKind;
        address author;
        bytes32 cidDigest;
        bytes32 contentHash;
        bytes32 scope;
        bytes32 supersedes;
    }

    /// @dev Every mutable field of the registry. A new version appends fields at the end and
    /// never reorders, retypes or removes one (upgrades-core refuses it before any upgrade).
    /// envelopes: one slot per envelope, the sha2-256 digest of its CIDv1 raw block.
    /// Envelopes are small single blocks, so the CID form is fixed; who added it and when
    /// are in the EnvelopeAnchored event, not in storage.
    /// @custom:storage-location erc7201:medchain.storage.RecordRegistry
    struct RecordRegistryStorage {
        IRecordWriteAuthorizer writeAuthorizer;
        mapping(bytes32 recordId => Record) records;
        mapping(bytes32 recordId => bytes32 newer) supersededBy;
        mapping(bytes32 recordId => mapping(address recipient => bytes32 digest)) envelopes;
        mapping(bytes32 recordId => uint40 timestamp) erasedAt;
    }

    /// @dev In the implementation's code, read by every version behind the proxy: moving to
    /// another DID registry is an upgrade to an implementation built for it.
    /// @custom:oz-upgrades-unsafe-allow state-variable-immutable
    IDIDRegistry private immutable _didRegistry;

    /// @notice initialize was asked to bind `requested`, but this implementation reads the
    /// DID registry `built` it was constructed with.
    error RecordDidRegistryMismatch(address requested, address built);

    /// @param didRegistry_ The ERC-1056 DID registry consulted for owners and delegates.
    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor(address didRegistry_) {
        _didRegistry = IDIDRegistry(didRegistry_);
        // The implementation itself is never initialized: nobody can take its admin role.
        _disableInitializers();
    }

    /// @notice Set up a proxy's state (called once, by the proxy's constructor).
    /// @param didRegistry_ The DID registry the proxy is meant to consult: must be the one
    /// this implementation was built with (refused with RecordDidRegistryMismatch otherwise).
    /// @param admin Holder of DEFAULT_ADMIN_ROLE: may set the write authorizer and upgrade.
    function initialize(address didRegistry_, address admin) external initializer {
        if (didRegistry_ != address(_didRegistry)) {
            revert RecordDidRegistryMismatch(didRegistry_, address(_didRegistry));
        }
        __Pausable_init(); // starts unpaused; called so upgrades-core sees every parent set up
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /*//////////////////////////////////////////////////////////////
                                EXTERNAL
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IRecordRegistry
    function anchorRecord(RecordInput calldata input, EnvelopeInput[] calldata envelopes)
        external
        whenNotPaused
        returns (bytes32 recordId)
    {
        RecordRegistryStorage storage $ = _storage();
        address patient = input.patient;
        if (patient == address(0)) revert RecordInvalidPatient(patient);
        recordId = _recordId(msg.sender, patient, input.salt);
        if (input.contentHash == bytes32(0)) revert RecordInvalidContentHash(recordId);
        if ($.records[recordId].patient != address(0)) revert RecordExists(recordId);
        if (envelopes.length > MAX_ENVELOPES) {
            revert RecordTooManyEnvelopes(envelopes.length, MAX_ENVELOPES);
        }
        (uint8 kind, bytes32 digest) = _parseCid(input.cid);
        bool manager = _isManager(patient, _liveOwner(patient), msg.sender);
        if (!manager && !_authorized(patient, msg.sender, input.scope)) {
            revert RecordUnauthorizedWriter(patient, msg.sender, input.scope);
        }
        uint32 version = _checkCorrection(input, manager);

        Record storage record = $.records[recordId];
        record.patient = patient;
        record.anchoredAt = uint40(block.timestamp);
        record.version = version;
        record.schemaVersion = input.schemaVersion;
        record.cidKind = kind;
        if (msg.sender != patient) {
            // Storage layout only (no authority): left zero (unwritten) when the writer is
            // the patient's own address, and read back as the patient.
            record.author = msg.sender;
        }
        record.cidDigest = digest;
        record.contentHash = input.contentHash;
        record.scope = input.scope;
        bytes32 previous = input.supersedes;
        if (previous != bytes32(0)) {
            record.supersedes = previous;
        }
        _emitAnchored(recordId, input, version);
        if (previous != bytes32(0)) {
            $.supersededBy[previous] = recordId;
            emit RecordSuperseded(previous, recordId);
        }
        // Bounded by MAX_ENVELOPES over calldata, not by anything in storage.
        for (uint256 i; i < envelopes.length; ++i) {
            _addEnvelope(recordId, envelopes[i].recipient, envelopes[i].cid);
        }
    }

    /// @inheritdoc IRecordRegistry
    function addEnvelope(bytes32 recordId, address recipient, bytes calldata cid)
        external
        whenNotPaused
    {
        RecordRegistryStorage storage $ = _storage();
        address patient = $.records[recordId].patient;
        if (patient == address(0)) revert RecordNotFound(recordId);
        _checkNotErased(recordId);
        if (!_isManager(patient, _liveOwner(patient), msg.sender)) {
            revert RecordUnauthorizedSharer(recordId, patient, msg.sender);
        }
        _addEnvelope(recordId, recipient, cid);
    }

    /// @inheritdoc IRecordRegistry
    /// @dev Not paused: the patient's erasure is a withdrawal, which a pause never blocks.
    function eraseRecord(bytes32 recordId) external {
        RecordRegistryStorage storage $ = _storage();
        address patient = $.records[recordId].patient;
        if (patient == address(0)) revert RecordNotFound(recordId);
        if (!_isManager(patient, _liveOwner(patient), msg.sender)) {
            revert RecordUnauthorizedEraser(recordId, patient, msg.sender);
        }
        _checkNotErased(recordId);
        $.erasedAt[recordId] = uint40(block.timestamp);
        emit RecordErased(recordId, patient, msg.sender);
    }

    /// @inheritdoc IRecordRegistry
    /// @dev Not paused: governance may need it to end an incident (e.g. unplug a faulty
    /// authorizer) before unpausing, and pausing it would add nothing: its caller can unpause.
    function setWriteAuthorizer(address authorizer) external onlyRole(DEFAULT_ADMIN_ROLE) {
        RecordRegistryStorage storage $ = _storage();
        address previous = address($.writeAuthorizer);
        $.writeAuthorizer = IRecordWriteAuthorizer(authorizer);
        emit WriteAuthorizerChanged(previous, authorizer);
    }

    /// @inheritdoc IRecordRegistry
    function pause() external onlyRole(GUARDIAN_ROLE) {
        _pause();
    }

    /// @inheritdoc IRecordRegistry
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    /// @inheritdoc IRecordRegistry
    function getRecord(bytes32 recordId) external view returns (RecordView memory view_) {
        RecordRegistryStorage storage $ = _storage();
        Record storage record = $.records[recordId];
        if (record.patient == address(0)) revert RecordNotFound(recordId);
        view_ = RecordView({
            patient: record.patient,
            author: _authorOf(record),
            anchoredAt: record.anchoredAt,
            version: record.version,
            schemaVersion: record.schemaVersion,
            scope: record.scope,
            cid: _cidBytes(record.cidKind, record.cidDigest),
            contentHash: record.contentHash,
            supersedes: record.supersedes,
            supersededBy: $.supersededBy[recordId]
        });
    }

    /// @inheritdoc IRecordRegistry
    function exists(bytes32 recordId) external view returns (bool) {
        return _storage().records[recordId].patient != address(0);
    }

    /// @inheritdoc IRecordRegistry
    function erasedAt(bytes32 recordId) external view returns (uint40) {
        return _storage().erasedAt[recordId];
    }

    /// @inheritdoc IRecordRegistry
    function supersededBy(bytes32 recordId) external view returns (bytes32) {
        return _storage().supersededBy[recordId];
    }

    /// @inheritdoc IRecordRegistry
    function envelopeOf(bytes32 recordId, address recipient) external view returns (bytes memory) {
        bytes32 digest = _storage().envelopes[recordId][recipient];
        if (digest == bytes32(0)) return "";
        return _cidBytes(_CID_V1_RAW, digest);
    }

    /// @inheritdoc IRecordRegistry
    function canWrite(address patient, address writer, bytes32 scope) external view returns (bool) {
        address owner = _didRegistry.identityOwner(patient);
        if (owner == address(0)) return false;
        return _isManager(patient, owner, writer) || _authorized(patient, writer, scope);
    }

    /// @inheritdoc IRecordRegistry
    function canShare(bytes32 recordId, address sharer) external view returns (bool) {
        RecordRegistryStorage storage $ = _storage();
        address patient = $.records[recordId].patient;
        if (patient == address(0)) return false;
        address owner = _didRegistry.identityOwner(patient);
        return owner != address(0) && _isManager(patient, owner, sharer);
    }

    /// @inheritdoc IRecordRegistry
    function canSupersede(bytes32 recordId, address writer) external view returns (bool) {
        RecordRegistryStorage storage $ = _storage();
        Record storage old = $.records[recordId];
        address patient = old.patient;
        if (patient == address(0) || $.supersededBy[recordId] != bytes32(0)) return false;
        address owner = _didRegistry.identityOwner(patient);
        if (owner == address(0)) return false;
        if (_isManager(patient, owner, writer)) return true;
        return writer == _authorOf(old) && _authorized(patient, writer, old.scope);
    }

    /// @inheritdoc IRecordRegistry
    function recordIdOf(address author, address patient, bytes32 salt)
        external
        pure
        returns (bytes32)
    {
        return _recordId(author, patient, salt);
    }

    /// @inheritdoc IRecordRegistry
    function writeAuthorizer() external view returns (address) {
        return address(_storage().writeAuthorizer);
    }

    /// @inheritdoc IRecordRegistry
    function didRegistry() external view returns (address) {
        return address(_didRegistry);
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    /// @dev Only the admin (governance after a governed deploy) may change the code, paused or
    /// not: upgrading is how governance repairs the registry it paused.
    function _authorizeUpgrade(address) internal override onlyRole(DEFAULT_ADMIN_ROLE) {}

    function _storage() private pure returns (RecordRegistryStorage storage $) {
        assembly {
            $.slot := _STORAGE_SLOT
        }
    }

    /// @dev Separate frame for the nine-field event (avoids stack-too-deep without via-IR).
    function _emitAnchored(bytes32 recordId, RecordInput calldata input, uint32 version) private {
        emit RecordAnchored(
            recordId,
            input.patient,
            input.scope,
            msg.sender,
            input.cid,
            input.contentHash,
            input.schemaVersion,
            version,
            input.supersedes
        );
    }

    /// @dev The new record's version: 1, or the superseded record's + 1 after checking that
    /// the correction may extend that chain (latest version, same patient and scope, and
    /// the caller a manager of the patient or the superseded record's author).
    function _checkCorrection(RecordInput calldata input, bool manager)
        private
        view
        returns (uint32)
    {
        RecordRegistryStorage storage $ = _storage();
        bytes32 previous = input.supersedes;
        if (previous == bytes32(0)) return 1;
        Record storage old = $.records[previous];
        if (old.patient == address(0)) revert RecordNotFound(previous);
        _checkNotErased(previous);
        bytes32 newer = $.supersededBy[previous];
        if (newer != bytes32(0)) revert RecordAlreadySuperseded(previous, newer);
        if (old.patient != input.patient || old.scope != input.scope) {
            revert RecordCorrectionMismatch(previous, old.patient, old.scope);
        }
        if (!manager) {
            address author = _authorOf(old);
            if (msg.sender != author) {
                revert RecordUnauthorizedSuperseder(previous, author, msg.sender);
            }
        }
        return old.version + 1;
    }

    function _addEnvelope(bytes32 recordId, address recipient, bytes calldata cid) private {
        RecordRegistryStorage storage $ = _storage();
        if (recipient == address(0)) revert RecordInvalidRecipient(recordId, recipient);
        if ($.envelopes[recordId][recipient] != bytes32(0)) {
            revert RecordEnvelopeExists(recordId, recipient);
        }
        (uint8 kind, bytes32 digest) = _parseCid(cid);
        if (kind != _CID_V1_RAW) revert RecordInvalidCid(cid);
        $.envelopes[recordId][recipient] = digest;
        emit EnvelopeAnchored(recordId, recipient, msg.sender, cid);
    }

    /// @dev The patient's current DID owner; reverts when the identity was deactivated, so
    /// a deactivated identity gives nobody (owner, delegate or consented writer) any power.
    function _checkNotErased(bytes32 recordId) private view {
        uint40 erased = _storage().erasedAt[recordId];
        if (erased != 0) revert RecordAlreadyErased(recordId, erased);
    }

    function _liveOwner(address patient) private view returns (address owner) {
        owner = _didRegistry.identityOwner(patient);
        if (owner == address(0)) revert RecordIdentityDeactivated(patient);
    }

    /// @dev `account` manages the live identity `patient` whose current owner is `owner`: it
    /// is that owner or a valid records delegate. Never `account == patient`: after a key
    /// rotation the patient's own address has no power left.
    function _isManager(address patient, address owner, address account)
        private
        view
        returns (bool)
    {
        return account == owner
            || _didRegistry.validDelegate(patient, RECORDS_DELEGATE_TYPE, account);
    }

    /// @dev The write authorizer (consent) allows `writer` to anchor `scope` for `patient`.
    function _authorized(address patient, address writer, bytes32 scope)
        private
        view
        returns (bool)
    {
        IRecordWriteAuthorizer authorizer = _storage().writeAuthorizer;
        return address(authorizer) != address(0) && authorizer.canWrite(patient, writer, scope);
    }

    function _authorOf(Record storage record) private view returns (address author) {
        author = record.author;
        if (author == address(0)) author = record.patient;
    }

    function _recordId(address author, address patient, bytes32 salt)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(author, patient, salt));
    }

    /// @dev Accepts exactly the CIDs IPFS makes by default: sha2-256 CIDv0 (34 bytes) and
    /// CIDv1 dag-pb or raw (36 bytes); anything else could not be verified by readers.
    function _parseCid(bytes calldata cid) private pure returns (uint8 kind, bytes32 digest) {
        if (cid.length == 34 && cid[0] == 0x12 && cid[1] == 0x20) {
            return (_CID_V0, bytes32(cid[2:34]));
        }
        if (cid.length == 36 && cid[0] == 0x01 && cid[2] == 0x12 && cid[3] == 0x20) {
            if (cid[1] == 0x70) return (_CID_V1_DAG_PB, bytes32(cid[4:36]));
            if (cid[1] == 0x55) return (_CID_V1_RAW, bytes32(cid[4:36]));
        }
        revert RecordInvalidCid(cid);
    }

    function _cidBytes(uint8 kind, bytes32 digest) private pure returns (bytes memory) {
        if (kind == _CID_V0) return abi.encodePacked(bytes2(0x1220), digest);
        if (kind == _CID_V1_DAG_PB) return abi.encodePacked(bytes4(0x01701220), digest);
        return abi.encodePacked(bytes4(0x01551220), digest);
    }
}
