// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IRecordRegistry
/// @notice Anchors of encrypted health records kept off chain (IPFS): the content address
/// and ciphertext hash of each record, its type, author and time, and the key envelope
/// each recipient needs to decrypt it. Append-only: a correction is a new version.
interface IRecordRegistry {
    /*//////////////////////////////////////////////////////////////
                                 TYPES
    //////////////////////////////////////////////////////////////*/

    /// @notice What a writer submits to anchor one record.
    /// @param patient The record's subject (their did:ethr identity address).
    /// @param salt Author-chosen 32 bytes (random). The record id is derived from it:
    /// `keccak256(abi.encode(author, patient, salt))` (see {recordIdOf}), so nobody but the
    /// author can anchor under an id the author announced or bound into its ciphertext.
    /// @param scope Type code, e.g. bytes32("Observation") for a FHIR resource type.
    /// @param schemaVersion Version of the payload's schema (bound into the ciphertext).
    /// @param cid Binary CID of the ciphertext: CIDv0, or CIDv1 dag-pb/raw, sha2-256.
    /// @param contentHash sha256 of the whole ciphertext.
    /// @param supersedes The record this one corrects (zero for a first version).
    struct RecordInput {
        address patient;
        bytes32 salt;
        bytes32 scope;
        uint16 schemaVersion;
        bytes cid;
        bytes32 contentHash;
        bytes32 supersedes;
    }

    /// @notice A key envelope: the record's data key sealed to `recipient`'s key-agreement
    /// key, stored off chain as one raw block under the CIDv1 `cid`.
    struct EnvelopeInput {
        address recipient;
        bytes cid;
    }

    /// @notice A record as read back.
    struct RecordView {
        address patient;
        address author;
        uint40 anchoredAt;
        uint32 version;
        uint16 schemaVersion;
        bytes32 scope;
        bytes cid;
        bytes32 contentHash;
        bytes32 supersedes;
        bytes32 supersededBy;
    }

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice `recordId` is already anchored; records are never overwritten.
    error RecordExists(bytes32 recordId);

    /// @notice No record is anchored under `recordId`.
    error RecordNotFound(bytes32 recordId);

    /// @notice `patient`'s DID was deactivated (its owner is the zero address): nobody can
    /// write, correct or share its records any more.
    error RecordIdentityDeactivated(address patient);

    /// @notice `writer` may not anchor records of `scope` for `patient` (not the DID's current
    /// owner, not a records delegate, not allowed by the write authorizer).
    error RecordUnauthorizedWriter(address patient, address writer, bytes32 scope);

    /// @notice `sharer` may not add key envelopes to `recordId` of `patient` (only the DID's
    /// current owner or a records delegate may).
    error RecordUnauthorizedSharer(bytes32 recordId, address patient, address sharer);

    /// @notice `caller` may not correct `superseded`, written by `author`: only that author,
    /// the patient's current DID owner or a records delegate extend a version chain.
    error RecordUnauthorizedSuperseder(bytes32 superseded, address author, address caller);

    /// @notice `cid` is not a sha2-256 CIDv0 or CIDv1 (dag-pb or raw), or, for a key
    /// envelope, not a CIDv1 raw.
    error RecordInvalidCid(bytes cid);

    /// @notice The patient address is zero.
    error RecordInvalidPatient(address patient);

    /// @notice The ciphertext hash of `recordId` is zero.
    error RecordInvalidContentHash(bytes32 recordId);

    /// @notice The envelope recipient is the zero address.
    error RecordInvalidRecipient(bytes32 recordId, address recipient);

    /// @notice `recordId` already has a newer version `supersededBy`; correct that one.
    error RecordAlreadySuperseded(bytes32 recordId, bytes32 supersededBy);

    /// @notice A correction of `superseded` must keep its patient `patient` and scope `scope`.
    error RecordCorrectionMismatch(bytes32 superseded, address patient, bytes32 scope);

    /// @notice `recipient` already has an envelope for `recordId` (append-only).
    error RecordEnvelopeExists(bytes32 recordId, address recipient);

    /// @notice `count` envelopes in one call exceed the maximum `max`.
    error RecordTooManyEnvelopes(uint256 count, uint256 max);

    /// @notice `caller` may not erase `recordId` of `patient`: only the DID's current owner or
    /// a records delegate may (the same people who may share it).
    error RecordUnauthorizedEraser(bytes32 recordId, address patient, address caller);

    /// @notice `recordId` was erased at `erasedAt` (unix time): it cannot be erased again,
    /// shared or corrected, and its content is gone from the project's storage.
    error RecordAlreadyErased(bytes32 recordId, uint40 erasedAt);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice `recordId` of `patient` was anchored by `author`: version `version`,
    /// ciphertext at `cid` hashing to `contentHash`; `supersedes` is the corrected record.
    event RecordAnchored(
        bytes32 indexed recordId,
        address indexed patient,
        bytes32 indexed scope,
        address author,
        bytes cid,
        bytes32 contentHash,
        uint16 schemaVersion,
        uint32 version,
        bytes32 supersedes
    );

    /// @notice `recordId` was corrected by the newer version `supersededBy`.
    event RecordSuperseded(bytes32 indexed recordId, bytes32 indexed supersededBy);

    /// @notice `addedBy` anchored the key envelope at `cid` for `recipient` on `recordId`.
    event EnvelopeAnchored(
        bytes32 indexed recordId, address indexed recipient, address addedBy, bytes cid
    );

    /// @notice `erasedBy` erased `recordId` of `patient` (right to be forgotten, retention
    /// limit): its key envelopes were destroyed and its ciphertext unpinned off chain. The
    /// anchor stays (it holds no health data); readers must treat the record as gone.
    event RecordErased(bytes32 indexed recordId, address indexed patient, address erasedBy);

    /// @notice The write authorizer changed from `previous` to `current` (zero: none).
    event WriteAuthorizerChanged(address previous, address current);

    /*//////////////////////////////////////////////////////////////
                               FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Anchor one record (optionally a correction) and its first key envelopes, under
    /// the id `recordIdOf(msg.sender, input.patient, input.salt)`: derived from the author,
    /// so nobody else can take (front-run) an id the author announced.
    /// Requirements:
    /// - `input.patient` and `input.contentHash` non-zero; the derived id not yet anchored.
    /// - the patient's DID is not deactivated.
    /// - `input.cid` a sha2-256 CIDv0/CIDv1 (dag-pb or raw); envelope CIDs CIDv1 raw.
    /// - the caller may write `input.scope` records for the patient (see {canWrite}).
    /// - a correction's superseded record exists, is the latest version, has the same
    ///   patient and scope, and the caller is its author, the patient's current DID owner
    ///   or a records delegate (see {canSupersede}).
    /// - at most MAX_ENVELOPES envelopes, distinct non-zero recipients.
    /// - the registry is not paused (OpenZeppelin `EnforcedPause`).
    /// Emits {RecordAnchored}, {RecordSuperseded} for a correction, {EnvelopeAnchored} each.
    function anchorRecord(RecordInput calldata input, EnvelopeInput[] calldata envelopes)
        external
        returns (bytes32 recordId);

    /// @notice Add a recipient's key envelope to an anchored record (sharing it).
    /// Requirements:
    /// - the record exists and its patient's DID is not deactivated.
    /// - the caller is the patient's current DID owner or a records delegate (see {canShare}).
    /// - `recipient` is non-zero and has no envelope on the record yet.
    /// - `cid` is a CIDv1 raw sha2-256 (an envelope is one small block).
    /// - the record was not erased.
    /// - the registry is not paused (OpenZeppelin `EnforcedPause`).
    /// Emits {EnvelopeAnchored}.
    function addEnvelope(bytes32 recordId, address recipient, bytes calldata cid) external;

    /// @notice Set (or clear with zero) the contract asked about non-patient writes.
    /// Requirements:
    /// - the caller has DEFAULT_ADMIN_ROLE. Open while paused (governance's repair tool).
    /// Emits {WriteAuthorizerChanged}.
    function setWriteAuthorizer(address authorizer) external;

    /// @notice Mark a record erased (right to be forgotten, retention limits). The SDK
    /// destroys its key envelopes and unpins its ciphertext off chain; this call is the
    /// on-chain fact readers check. The anchor itself stays: it holds hashes, no health data.
    /// Requirements:
    /// - the record exists and its patient's DID is not deactivated.
    /// - the caller is the patient's current DID owner or a records delegate (see {canShare}).
    /// - the record was not erased before.
    /// Open while the registry is paused: a pause never keeps a patient from erasing.
    /// Emits {RecordErased}.
    function eraseRecord(bytes32 recordId) external;

    /// @notice When `recordId` was erased (unix time), zero while it is not.
    function erasedAt(bytes32 recordId) external view returns (uint40);

    /// @notice The record anchored under `recordId`.
    /// Requirements:
    /// - the record exists.
    function getRecord(bytes32 recordId) external view returns (RecordView memory);

    /// @notice True when `recordId` is anchored.
    function exists(bytes32 recordId) external view returns (bool);

    /// @notice The newer version correcting `recordId` (zero when it is the latest).
    function supersededBy(bytes32 recordId) external view returns (bytes32);

    /// @notice `recipient`'s key envelope on `recordId` as a binary CIDv1 (raw, sha2-256);
    /// empty when there is none.
    function envelopeOf(bytes32 recordId, address recipient) external view returns (bytes memory);

    /// @notice True when `writer` may anchor `scope` records for `patient`: the patient's
    /// identity is live (not deactivated) and `writer` is its current DID owner, a valid
    /// records delegate, or allowed by the write authorizer.
    function canWrite(address patient, address writer, bytes32 scope) external view returns (bool);

    /// @notice True when `sharer` may add key envelopes to `recordId`: the record exists, its
    /// patient's identity is live and `sharer` is the current DID owner or a records delegate.
    function canShare(bytes32 recordId, address sharer) external view returns (bool);

    /// @notice True when `writer` may now anchor a correction of `recordId`: it is the latest
    /// version, the patient's identity is live, and `writer` is the current DID owner or a
    /// records delegate, or is the record's author and may still write its scope.
    function canSupersede(bytes32 recordId, address writer) external view returns (bool);

    /// @notice The id a record anchored by `author` for `patient` with `salt` gets:
    /// `keccak256(abi.encode(author, patient, salt))`.
    function recordIdOf(address author, address patient, bytes32 salt)
        external
        pure
        returns (bytes32);

    /// @notice The current write authorizer (zero when none is set).
    function writeAuthorizer() external view returns (address);

    /// @notice The DID registry consulted for owners and delegates.
    function didRegistry() external view returns (address);

    /// @notice ERC-1056 delegate type that lets a delegate write and share a patient's records.
    function RECORDS_DELEGATE_TYPE() external view returns (bytes32);

    /// @notice Upper bound on envelopes per anchoring call (keeps the call's gas bounded).
    function MAX_ENVELOPES() external view returns (uint256);

    /// @notice The emergency guardian's role: it may call {pause} and nothing else.
    function GUARDIAN_ROLE() external view returns (bytes32);

    /// @notice Stop the writes ({anchorRecord}, {addEnvelope}) until governance unpauses.
    /// Reads, {eraseRecord}, the admin's configuration, role administration and upgrades stay
    /// open. `paused()` (OpenZeppelin Pausable) tells whether a pause is in force.
    /// Requirements:
    /// - the caller has GUARDIAN_ROLE.
    /// - not paused already (OpenZeppelin `EnforcedPause`).
    /// Emits {Paused}.
    function pause() external;

    /// @notice Lift a pause.
    /// Requirements:
    /// - the caller has DEFAULT_ADMIN_ROLE (governance): a guardian cannot undo its own pause
    ///   to go around a vote, so a stolen guardian key can at most pause.
    /// - paused (OpenZeppelin `ExpectedPause`).
    /// Emits {Unpaused}.
    function unpause() external;
}
