// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IRecordWriteAuthorizer} from "./IRecordWriteAuthorizer.sol";

/// @title IConsentDIDRegistry
/// @notice The two ERC-1056 (did:ethr) registry functions the consent registry relies on:
/// who owns a patient's identity and whether an address is a valid delegate of a type.
interface IConsentDIDRegistry {
    /// @notice The current owner of `identity` (the identity itself until it is changed;
    /// zero once deactivated - the consent registry then treats the identity as dead).
    function identityOwner(address identity) external view returns (address);

    /// @notice True when `delegate` is an unexpired delegate of `delegateType` for `identity`.
    function validDelegate(address identity, bytes32 delegateType, address delegate)
        external
        view
        returns (bool);
}

/// @title IConsentRegistry
/// @notice Errors, events and types of the medchain consent registry: patient-managed,
/// scoped, purpose-bound, time-bound grants with deny provisions (FHIR Consent semantics),
/// EIP-712 signed grants, an access audit trail and M-of-N approved break-glass access.
interface IConsentRegistry is IRecordWriteAuthorizer {
    /*//////////////////////////////////////////////////////////////
                                 TYPES
    //////////////////////////////////////////////////////////////*/

    /// @notice One provision (permit or deny) as stored: actions bitmask (1 read, 2 write,
    /// 4 share), purpose-of-use bitmask (bit i = purpose code i), validity [start, end).
    struct Provision {
        uint8 actions;
        uint32 purposes;
        uint40 start;
        uint40 end;
    }

    /// @notice EIP-712 message by which a patient's DID owner (or consent delegate) sets a
    /// permit (`deny == false`) or deny provision; anyone may relay it. `nonce` is the
    /// key's `signatureNonce(patient, grantee, scope)` when signing.
    struct SignedProvision {
        address patient;
        address grantee;
        bytes32 scope;
        uint8 actions;
        uint32 purposes;
        uint40 start;
        uint40 end;
        bool deny;
        address signer;
        uint256 nonce;
        uint256 deadline;
    }

    /// @notice EIP-712 message by which a patient (or its manager) removes a provision.
    struct SignedRevocation {
        address patient;
        address grantee;
        bytes32 scope;
        bool deny;
        address signer;
        uint256 nonce;
        uint256 deadline;
    }

    /// @notice Life cycle of a break-glass episode.
    enum EpisodeStatus {
        None,
        Pending,
        Active,
        Accepted,
        Flagged,
        Cancelled
    }

    /// @notice A break-glass episode as returned by `episode(id)`.
    struct Episode {
        address patient;
        address clinician;
        bytes32 reasonHash;
        uint32 duration;
        uint8 approvals;
        EpisodeStatus status;
        uint40 requestedAt;
        uint40 expiresAt;
        bytes32 reviewHash;
    }

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice `caller` is neither the current DID owner `owner` of `patient` nor a valid
    /// consent delegate (a key the identity was rotated away from is nobody).
    error ConsentUnauthorizedManager(address patient, address caller, address owner);

    /// @notice `patient`'s DID was deactivated: nobody manages its consent any more and its
    /// permits grant nothing.
    error ConsentIdentityDeactivated(address patient);

    /// @notice Only the patient's DID owner may lift or replace an existing deny; `caller`
    /// is a consent delegate.
    error ConsentDenyOwnerOnly(address patient, address grantee, bytes32 scope, address caller);

    /// @notice A consent delegate may not grant itself access to the patient's record.
    error ConsentDelegateSelfGrant(address patient, address delegate);

    /// @notice The signed change carries `given`; the key's signature sequence is `expected`
    /// (the signature was already used, or the provision changed since it was signed).
    error ConsentInvalidNonce(
        address patient, address grantee, bytes32 scope, uint256 expected, uint256 given
    );

    /// @notice The key's 16-bit signature sequence is used up: change it directly.
    error ConsentSignaturesExhausted(address patient, address grantee, bytes32 scope);

    /// @notice The provision is malformed: actions must be a non-empty subset of
    /// read|write|share, purposes non-empty, `start < end` and `end` in the future.
    error ConsentInvalidProvision(uint8 actions, uint32 purposes, uint40 start, uint40 end);

    /// @notice There is no permit (or deny, when `deny`) provision to remove.
    error ConsentNotFound(address patient, address grantee, bytes32 scope, bool deny);

    /// @notice `grantee` has no current permission for `action` on `scope` for `purpose`.
    error ConsentAccessDenied(
        address patient, address grantee, bytes32 scope, uint8 action, uint8 purpose
    );

    /// @notice The signed message's deadline has passed.
    error ConsentExpiredSignature(uint256 deadline, uint256 now_);

    /// @notice The signature does not verify for `signer` (EOA or ERC-1271 wallet).
    error ConsentInvalidSignature(address signer);

    /// @notice The break-glass request asks for 0 seconds or more than `max`.
    error ConsentBreakGlassInvalidDuration(uint32 requested, uint32 max);

    /// @notice No episode has this id.
    error ConsentBreakGlassUnknownEpisode(uint256 episodeId);

    /// @notice The episode is not in the status the operation needs.
    error ConsentBreakGlassWrongStatus(uint256 episodeId, EpisodeStatus status);

    /// @notice The request was not approved in time (`requestedAt + REQUEST_TTL`).
    error ConsentBreakGlassRequestExpired(uint256 episodeId, uint256 expiredAt);

    /// @notice `approver` already approved this episode.
    error ConsentBreakGlassAlreadyApproved(uint256 episodeId, address approver);

    /// @notice The requesting clinician cannot approve their own request.
    error ConsentBreakGlassSelfApproval(uint256 episodeId, address approver);

    /// @notice Only the requesting clinician, a privacy officer (PRIVACY_OFFICER_ROLE) or the
    /// default admin may cancel or close an episode; `caller` is none of them.
    error ConsentBreakGlassCannotStop(uint256 episodeId, address caller);

    /// @notice The requesting `clinician` no longer holds CLINICIAN_ROLE (off-boarded): the
    /// request cannot be approved.
    error ConsentBreakGlassClinicianRevoked(uint256 episodeId, address clinician);

    /// @notice The episode is still active until `expiresAt`; review comes after.
    error ConsentBreakGlassStillActive(uint256 episodeId, uint40 expiresAt);

    /// @notice The approval threshold must be between 1 and 255.
    error ConsentBreakGlassInvalidThreshold(uint256 threshold);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice A permit provision was set (replacing any earlier permit for the key).
    event ConsentGranted(
        address indexed patient,
        address indexed grantee,
        bytes32 indexed scope,
        uint8 actions,
        uint32 purposes,
        uint40 start,
        uint40 end
    );

    /// @notice A deny provision was set (replacing any earlier deny for the key).
    event ConsentDenied(
        address indexed patient,
        address indexed grantee,
        bytes32 indexed scope,
        uint8 actions,
        uint32 purposes,
        uint40 start,
        uint40 end
    );

    /// @notice A permit (or, when `deny`, a deny) provision was removed.
    event ConsentRevoked(
        address indexed patient, address indexed grantee, bytes32 indexed scope, bool deny
    );

    /// @notice The preceding consent change of `patient` was made (or signed) by `manager`,
    /// its DID owner or consent delegate, not by the patient's own key. Emitted only then,
    /// so the patient's own grants stay cheap.
    event ConsentManagedBy(address indexed patient, address indexed manager);

    /// @notice Every signed but unsent change of (`patient`, `grantee`, `scope`) was voided;
    /// the next signature must carry `nonce`.
    event ConsentSignaturesInvalidated(
        address indexed patient, address indexed grantee, bytes32 indexed scope, uint256 nonce
    );

    /// @notice A grantee recorded an access it was permitted to make.
    event AccessRecorded(
        address indexed patient,
        address indexed grantee,
        bytes32 indexed scope,
        uint8 action,
        uint8 purpose,
        bytes32 recordRef,
        uint256 episodeId
    );

    /// @notice A clinician asked for emergency access to a patient's record; `reasonHash` is
    /// a salted commitment to the reason (keccak256(salt32 || text)).
    event BreakGlassRequested(
        uint256 indexed episodeId,
        address indexed patient,
        address indexed clinician,
        bytes32 reasonHash,
        uint32 duration
    );

    /// @notice An emergency approver approved an episode.
    event BreakGlassApproved(uint256 indexed episodeId, address indexed approver, uint8 approvals);

    /// @notice The episode reached its threshold: the clinician has emergency access until
    /// `expiresAt`. Indexed by patient so the patient (or a guardian) is notified.
    event BreakGlassActivated(
        uint256 indexed episodeId, address indexed patient, address indexed clinician, uint40 expiresAt
    );

    /// @notice A pending episode was withdrawn by its clinician or stopped by `by` (privacy
    /// officer or admin) before activation.
    event BreakGlassCancelled(uint256 indexed episodeId, address indexed patient, address by);

    /// @notice The emergency access ended before it expired, closed by `by` (the clinician,
    /// a privacy officer or the admin).
    event BreakGlassClosed(
        uint256 indexed episodeId, address indexed patient, address by, uint40 closedAt
    );

    /// @notice A privacy officer recorded the post-event review of an episode.
    event BreakGlassReviewed(
        uint256 indexed episodeId,
        address indexed patient,
        address indexed officer,
        bool accepted,
        bytes32 reviewHash
    );

    /// @notice The number of approvals needed to activate an episode changed.
    event BreakGlassThresholdChanged(uint8 threshold);
}
