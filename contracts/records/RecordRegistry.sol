// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title RecordRegistry
/// @notice Anchors encrypted health records stored off chain: per record its CID and
/// ciphertext hash, type, schema version, author and time, plus one key-envelope CID per
/// recipient. No health data is ever stored or logged here, only content addresses.
/// Writers are the patient's DID owner, a DID delegate of type RECORDS_DELEGATE_TYPE
/// (ERC-1056 registry), or whoever the optional write authorizer (the consent registry)
/// allows. Append-only: corrections are new versions linked to the record they supersede.
/// Every write costs the same whatever the number of patients or records.

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IDIDRegistry} from "../interfaces/IDIDRegistry.sol";
import {IRecordRegistry} from "../interfaces/IRecordRegistry.sol";
import {IRecordWriteAuthorizer} from "../interfaces/IRecordWriteAuthorizer.sol";

contract RecordRegistry is IRecordRegistry, AccessControl {
    /*//////////////////////////////////////////////////////////////
                                CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice ERC-1056 delegate type that lets a delegate write and share a patient's records.
    bytes32 public constant RECORDS_DELEGATE_TYPE = keccak256("medchain/records");

    /// @notice Upper bound on envelopes per anchoring call (keeps the call's gas bounded).
    uint256 public constant MAX_ENVELOPES = 16;

    // CID kinds stored in one byte instead of the 2-4 byte binary prefix.
    uint8 private constant _CID_V0 = 1; // 0x1220 ++ digest
    uint8 private constant _CID_V1_DAG_PB = 2; // 0x01 0x70 0x12 0x20 ++ digest
    uint8 private constant _CID_V1_RAW = 3; // 0x01 0x55 0x12 0x20 ++ digest

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

    IDIDRegistry private immutable _didRegistry;
    IRecordWriteAuthorizer private _writeAuthorizer;
    mapping(bytes32 recordId => Record) private _records;
    mapping(bytes32 recordId => bytes32 newer) private _supersededBy;
    /// @dev One slot per envelope: the sha2-256 digest of its CIDv1 raw block. Envelopes
    /// are small single blocks, so the CID form is fixed; who added it and when are in
    /// the EnvelopeAnchored event, not in storage.
    mapping(bytes32 recordId => mapping(address recipient => bytes32 digest)) private _envelopes;

    /// @param didRegistry_ The ERC-1056 DID registry consulted for owners and delegates.
    /// @param admin Holder of DEFAULT_ADMIN_ROLE (may set the write authorizer).
    constructor(address didRegistry_, address admin) {
        _didRegistry = IDIDRegistry(didRegistry_);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /*//////////////////////////////////////////////////////////////
                                EXTERNAL
    //////////////////////////////////////////////////////////////*/

    /// @notice Anchor one record (optionally a correction) and its first key envelopes.
    /// Requirements:
    /// - `input.patient`, `input.recordId`, `input.contentHash` non-zero; `input.recordId` new.
    /// - `input.cid` a sha2-256 CIDv0/CIDv1 (dag-pb or raw); envelope CIDs CIDv1 raw.
    /// - the caller may write `input.scope` records for the patient (see {canWrite}).
    /// - a correction's superseded record exists, is the latest version, and has the same
    ///   patient and scope.
    /// - at most MAX_ENVELOPES envelopes, distinct non-zero recipients.
    /// Emits {RecordAnchored}, {RecordSuperseded} for a correction, {EnvelopeAnchored} each.
    function anchorRecord(RecordInput calldata input, EnvelopeInput[] calldata envelopes)
        external
    {
        bytes32 recordId = input.recordId;
        if (input.patient == address(0)) revert InvalidPatient(input.patient);
        if (recordId == bytes32(0)) revert InvalidRecordId(recordId);
        if (input.contentHash == bytes32(0)) revert InvalidContentHash(recordId);
        if (_records[recordId].patient != address(0)) revert RecordExists(recordId);
        if (envelopes.length > MAX_ENVELOPES) {
            revert TooManyEnvelopes(envelopes.length, MAX_ENVELOPES);
        }
        (uint8 kind, bytes32 digest) = _parseCid(input.cid);
        if (!_canWrite(input.patient, msg.sender, input.scope)) {
            revert UnauthorizedWriter(input.patient, msg.sender, input.scope);
        }

        uint32 version = 1;
        bytes32 previous = input.supersedes;
        if (previous != bytes32(0)) {
            Record storage old = _records[previous];
            if (old.patient == address(0)) revert RecordNotFound(previous);
            bytes32 newer = _supersededBy[previous];
            if (newer != bytes32(0)) revert AlreadySuperseded(previous, newer);
            if (old.patient != input.patient || old.scope != input.scope) {
                revert CorrectionMismatch(previous, old.patient, old.scope);
            }
            version = old.version + 1;
        }

        Record storage record = _records[recordId];
        record.patient = input.patient;
        record.anchoredAt = uint40(block.timestamp);
        record.version = version;
        record.schemaVersion = input.schemaVersion;
        record.cidKind = kind;
        if (msg.sender != input.patient) {
            record.author = msg.sender; // left zero (unwritten) when the patient writes
        }
        record.cidDigest = digest;
        record.contentHash = input.contentHash;
        record.scope = input.scope;
        if (previous != bytes32(0)) {
            record.supersedes = previous;
        }
        _emitAnchored(input, version);
        if (previous != bytes32(0)) {
            _supersededBy[previous] = recordId;
            emit RecordSuperseded(previous, recordId);
        }
        // Bounded by MAX_ENVELOPES over calldata, not by anything in storage.
        for (uint256 i; i < envelopes.length; ++i) {
            _addEnvelope(recordId, envelopes[i].recipient, envelopes[i].cid);
        }
    }

    /// @notice Add a recipient's key envelope to an anchored record (sharing it).
    /// Requirements:
    /// - the record exists; the caller may share it (see {canShare}).
    /// - `recipient` is non-zero and has no envelope on the record yet.
    /// - `cid` is a CIDv1 raw sha2-256 (an envelope is one small block).
    /// Emits {EnvelopeAnchored}.
    function addEnvelope(bytes32 recordId, address recipient, bytes calldata cid) external {
        address patient = _records[recordId].patient;
        if (patient == address(0)) revert RecordNotFound(recordId);
        if (!_isPatientOrDelegate(patient, msg.sender)) {
            revert UnauthorizedSharer(recordId, patient, msg.sender);
        }
        _addEnvelope(recordId, recipient, cid);
    }

    /// @notice Set (or clear with zero) the contract asked about non-patient writes.
    /// Requirements:
    /// - the caller has DEFAULT_ADMIN_ROLE.
    /// Emits {WriteAuthorizerChanged}.
    function setWriteAuthorizer(address authorizer) external onlyRole(DEFAULT_ADMIN_ROLE) {
        address previous = address(_writeAuthorizer);
        _writeAuthorizer = IRecordWriteAuthorizer(authorizer);
        emit WriteAuthorizerChanged(previous, authorizer);
    }

    /// @notice The record anchored under `recordId`.
    /// Requirements:
    /// - the record exists.
    function getRecord(bytes32 recordId) external view returns (RecordView memory view_) {
        Record storage record = _records[recordId];
        if (record.patient == address(0)) revert RecordNotFound(recordId);
        view_ = RecordView({
            patient: record.patient,
            author: record.author == address(0) ? record.patient : record.author,
            anchoredAt: record.anchoredAt,
            version: record.version,
            schemaVersion: record.schemaVersion,
            scope: record.scope,
            cid: _cidBytes(record.cidKind, record.cidDigest),
            contentHash: record.contentHash,
            supersedes: record.supersedes,
            supersededBy: _supersededBy[recordId]
        });
    }

    /// @notice True when `recordId` is anchored.
    function exists(bytes32 recordId) external view returns (bool) {
        return _records[recordId].patient != address(0);
    }

    /// @notice The newer version correcting `recordId` (zero when it is the latest).
    function supersededBy(bytes32 recordId) external view returns (bytes32) {
        return _supersededBy[recordId];
    }

    /// @notice `recipient`'s key envelope on `recordId` as a binary CIDv1 (raw, sha2-256);
    /// empty when there is none.
    function envelopeOf(bytes32 recordId, address recipient) external view returns (bytes memory) {
        bytes32 digest = _envelopes[recordId][recipient];
        if (digest == bytes32(0)) return "";
        return _cidBytes(_CID_V1_RAW, digest);
    }

    /// @notice True when `writer` may anchor `scope` records for `patient`: the patient's
    /// DID owner, a valid records delegate, or allowed by the write authorizer.
    function canWrite(address patient, address writer, bytes32 scope) external view returns (bool) {
        return _canWrite(patient, writer, scope);
    }

    /// @notice True when `sharer` may add key envelopes to `recordId`.
    function canShare(bytes32 recordId, address sharer) external view returns (bool) {
        address patient = _records[recordId].patient;
        return patient != address(0) && _isPatientOrDelegate(patient, sharer);
    }

    /// @notice The current write authorizer (zero when none is set).
    function writeAuthorizer() external view returns (address) {
        return address(_writeAuthorizer);
    }

    /// @notice The DID registry consulted for owners and delegates.
    function didRegistry() external view returns (address) {
        return address(_didRegistry);
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    /// @dev Separate frame for the nine-field event (avoids stack-too-deep without via-IR).
    function _emitAnchored(RecordInput calldata input, uint32 version) private {
        emit RecordAnchored(
            input.recordId,
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

    function _addEnvelope(bytes32 recordId, address recipient, bytes calldata cid) private {
        if (recipient == address(0)) revert InvalidRecipient(recordId, recipient);
        if (_envelopes[recordId][recipient] != bytes32(0)) {
            revert EnvelopeExists(recordId, recipient);
        }
        (uint8 kind, bytes32 digest) = _parseCid(cid);
        if (kind != _CID_V1_RAW) revert InvalidCid(cid);
        _envelopes[recordId][recipient] = digest;
        emit EnvelopeAnchored(recordId, recipient, msg.sender, cid);
    }

    function _isPatientOrDelegate(address patient, address account) private view returns (bool) {
        return account == _didRegistry.identityOwner(patient)
            || _didRegistry.validDelegate(patient, RECORDS_DELEGATE_TYPE, account);
    }

    function _canWrite(address patient, address writer, bytes32 scope) private view returns (bool) {
        if (_isPatientOrDelegate(patient, writer)) return true;
        IRecordWriteAuthorizer authorizer = _writeAuthorizer;
        return address(authorizer) != address(0) && authorizer.canWrite(patient, writer, scope);
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
        revert InvalidCid(cid);
    }

    function _cidBytes(uint8 kind, bytes32 digest) private pure returns (bytes memory) {
        if (kind == _CID_V0) return abi.encodePacked(bytes2(0x1220), digest);
        if (kind == _CID_V1_DAG_PB) return abi.encodePacked(bytes4(0x01701220), digest);
        return abi.encodePacked(bytes4(0x01551220), digest);
    }
}
