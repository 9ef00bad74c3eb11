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
/// @notice External API (functions, types, errors, events) of the medchain consent registry:
/// patient-managed, scoped, purpose-bound, time-bound grants with deny provisions (FHIR Consent
/// semantics), EIP-712 signed grants, an access audit trail and M-of-N approved break-glass
/// access.
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

    /// @notice One provision key, (patient, grantee, scope), as passed to {importProvisions}.
    struct ConsentKey {
        address patient;
        address grantee;
        bytes32 scope;
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

    /// @notice This is a first version (no predecessor): there is nothing to import.
    error ConsentNoPredecessor();

    /// @notice Only CLINICIAN_ROLE, EMERGENCY_APPROVER_ROLE and PRIVACY_OFFICER_ROLE are
    /// carried over from the predecessor; `role` (the default admin role among others) is
    /// set by this version's own constructor and governance.
    error ConsentRoleNotMigratable(bytes32 role);

    /// @notice The predecessor does not grant `role` to `account`: there is nothing to copy.
    error ConsentRoleNotHeldByPredecessor(bytes32 role, address account);

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

    /// @notice The provision of (`patient`, `grantee`, `scope`) was copied from the
    /// predecessor (the copied halves are announced by {ConsentGranted} / {ConsentDenied},
    /// a half the copy removed by {ConsentRevoked}); `nonce` is the copied signature sequence.
    event ConsentImported(
        address indexed patient, address indexed grantee, bytes32 indexed scope, uint256 nonce
    );

    /// @notice The key was changed in this version since its last import (the patient or a
    /// manager acted here), so this version's provision is the newer one and was kept.
    event ConsentImportSkipped(
        address indexed patient, address indexed grantee, bytes32 indexed scope
    );

    /// @notice `account` got `role` because the predecessor grants it (after {RoleGranted}).
    event ConsentRoleImported(bytes32 indexed role, address indexed account);

    /// @notice `role` was revoked from (or renounced by) `account` in this version, so the
    /// predecessor's grant was not copied again.
    event ConsentRoleImportSkipped(bytes32 indexed role, address indexed account);

    /*//////////////////////////////////////////////////////////////
                               FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Action bit: read the patient's data in scope.
    function READ() external view returns (uint8);

    /// @notice Action bit: write (anchor records) for the patient in scope.
    function WRITE() external view returns (uint8);

    /// @notice Action bit: share the patient's records onward (add key envelopes).
    function SHARE() external view returns (uint8);

    /// @notice Purpose-of-use code TREAT (HL7 v3 PurposeOfUse, treatment); the full table
    /// (index = bit) lives in the SDK and docs/consent.md.
    function TREAT() external view returns (uint8);

    /// @notice Purpose-of-use code ETREAT (HL7 v3 PurposeOfUse, emergency treatment): the
    /// purpose of break-glass access.
    function ETREAT() external view returns (uint8);

    /// @notice Scope matching every data category of a patient.
    /// (ASCII "*" left-aligned, the encoding medchain.records uses for record types).
    function ANY_SCOPE() external view returns (bytes32);

    /// @notice ERC-1056 delegate type that may manage a patient's consent (a guardian,
    /// a carer). bytes32 of the ASCII string, as ethr-did tools encode delegate types.
    function CONSENT_DELEGATE() external view returns (bytes32);

    /// @notice Role of clinicians who may request break-glass access.
    function CLINICIAN_ROLE() external view returns (bytes32);

    /// @notice Role of the accounts whose approvals open a break-glass episode.
    function EMERGENCY_APPROVER_ROLE() external view returns (bytes32);

    /// @notice Role that reviews closed break-glass episodes (and may stop one).
    function PRIVACY_OFFICER_ROLE() external view returns (bytes32);

    /// @notice Longest emergency access one episode can grant.
    function MAX_BREAK_GLASS_DURATION() external view returns (uint32);

    /// @notice A break-glass request must reach its threshold within this time.
    function REQUEST_TTL() external view returns (uint32);

    /// @notice Set the permit provision of (`patient`, `grantee`, `scope`): `grantee` may do
    /// `actions` for `purposes` between `start` and `end` (exclusive). Replaces an earlier permit.
    /// Requirements:
    /// - the identity is not deactivated; caller is its current DID owner (the patient's
    ///   own key until rotated) or a valid "medchain/consent" delegate;
    /// - a delegate does not grant itself;
    /// - `actions` a non-empty subset of READ|WRITE|SHARE, `purposes` non-empty,
    ///   `start < end`, `end` in the future.
    /// Emits {ConsentGranted}; {ConsentManagedBy} when the caller is not the patient.
    function grant(
        address patient,
        address grantee,
        bytes32 scope,
        uint8 actions,
        uint32 purposes,
        uint40 start,
        uint40 end
    ) external;

    /// @notice Set the deny provision of (`patient`, `grantee`, `scope`); a matching deny
    /// overrides any permit, including one on the wildcard scope. Replaces an earlier deny.
    /// Requirements: as {grant}; only the DID owner may replace an existing deny (a
    /// delegate may add a deny where there is none, never weaken the patient's).
    /// Emits {ConsentDenied}.
    function deny(
        address patient,
        address grantee,
        bytes32 scope,
        uint8 actions,
        uint32 purposes,
        uint40 start,
        uint40 end
    ) external;

    /// @notice Remove the permit provision of (`patient`, `grantee`, `scope`). Stops new
    /// accesses at once; it cannot recall data the grantee already obtained.
    /// Requirements:
    /// - caller is the current DID owner or a valid consent delegate (identity active);
    /// - a permit provision exists.
    /// Emits {ConsentRevoked}.
    function revoke(address patient, address grantee, bytes32 scope) external;

    /// @notice Remove the deny provision of (`patient`, `grantee`, `scope`).
    /// Requirements: caller is the current DID owner (identity active), never a delegate;
    /// a deny provision exists.
    /// Emits {ConsentRevoked} with `deny == true`.
    function liftDeny(address patient, address grantee, bytes32 scope) external;

    /// @notice Void every signed but unsent provision or revocation of (`patient`,
    /// `grantee`, `scope`): bumps the key's signature sequence. (Any direct change of the
    /// key does the same; rotating the DID owner voids everything the old key signed.)
    /// Requirements: caller as {revoke}; the sequence is not exhausted.
    /// Emits {ConsentSignaturesInvalidated}.
    function invalidateSignatures(address patient, address grantee, bytes32 scope) external;

    /// @notice Relay a provision signed (EIP-712) by the patient or its manager.
    /// Requirements:
    /// - `block.timestamp <= p.deadline`;
    /// - `signature` verifies for `p.signer` (ECDSA, or ERC-1271 for contract wallets);
    /// - `p.signer` is, now, the patient's DID owner or a valid consent delegate;
    /// - `p.nonce` is the key's current {signatureNonce} (each signature works once, and
    ///   any later change of the provision voids it);
    /// - the provision is valid as in {grant} / {deny}.
    /// Emits {ConsentGranted} or {ConsentDenied}.
    function grantBySig(SignedProvision calldata p, bytes calldata signature) external;

    /// @notice Relay a revocation signed (EIP-712) by the patient or its manager.
    /// Requirements: as {grantBySig} and {revoke} / {liftDeny}; the provision exists.
    /// Emits {ConsentRevoked}.
    function revokeBySig(SignedRevocation calldata r, bytes calldata signature) external;

    /// @notice Record that the caller accessed `recordRef` (a record id or content hash,
    /// never data) of `patient` in `scope` with `action` for `purpose`.
    /// Requirements:
    /// - `hasAccess(patient, msg.sender, scope, action, purpose)` (consent or active break-glass).
    /// Emits {AccessRecorded} (with the break-glass episode id, 0 if by consent).
    function recordAccess(
        address patient,
        bytes32 scope,
        uint8 action,
        uint8 purpose,
        bytes32 recordRef
    ) external;

    /// @notice Ask for emergency access to `patient`'s record for `duration` seconds,
    /// giving a salted commitment to the clinical reason: keccak256(salt32 || utf8 text)
    /// with a fresh random 32-byte salt kept off chain beside the text (an unsalted hash of
    /// a short text is reversible by dictionary). The contract cannot tell the difference,
    /// so clients must salt (the medchain SDK always does).
    /// Requirements:
    /// - caller has CLINICIAN_ROLE;
    /// - `0 < duration <= MAX_BREAK_GLASS_DURATION`.
    /// Emits {BreakGlassRequested}.
    function requestBreakGlass(
        address patient,
        bytes32 reasonHash,
        uint32 duration
    ) external returns (uint256 episodeId);

    /// @notice Approve a pending episode; the approval that reaches the threshold activates
    /// the clinician's emergency access (ETREAT read/write on every scope) until
    /// `now + duration`, and the episode then awaits review.
    /// Requirements:
    /// - caller has EMERGENCY_APPROVER_ROLE and is not the requesting clinician;
    /// - the requesting clinician still has CLINICIAN_ROLE (off-boarding stops a request);
    /// - the episode is Pending, requested less than REQUEST_TTL ago, not yet approved by caller.
    /// Emits {BreakGlassApproved}; {BreakGlassActivated} when the threshold is reached.
    function approveBreakGlass(uint256 episodeId) external;

    /// @notice Withdraw a pending request before it activates: the clinician takes it
    /// back, or a privacy officer / the admin stops it (e.g. on off-boarding).
    /// Requirements:
    /// - caller is the episode's clinician, has PRIVACY_OFFICER_ROLE or is the default admin;
    /// - the episode is Pending.
    /// Emits {BreakGlassCancelled}.
    function cancelBreakGlass(uint256 episodeId) external;

    /// @notice End an active emergency access before it expires: the clinician's own
    /// closing, or a privacy officer / the admin ending it (misuse, off-boarding). The
    /// episode then awaits its review as usual.
    /// Requirements:
    /// - caller is the episode's clinician, has PRIVACY_OFFICER_ROLE or is the default admin;
    /// - the episode is Active and not yet expired.
    /// Emits {BreakGlassClosed}.
    function closeBreakGlass(uint256 episodeId) external;

    /// @notice Record the privacy officer's post-event review of an episode: accepted
    /// (justified) or flagged (for follow-up), with a salted commitment to the review notes
    /// (keccak256(salt32 || utf8 notes), salt kept off chain with the notes).
    /// Requirements:
    /// - caller has PRIVACY_OFFICER_ROLE;
    /// - the episode is Active and its access has ended (expired or closed).
    /// Emits {BreakGlassReviewed}.
    function reviewBreakGlass(uint256 episodeId, bool accepted, bytes32 reviewHash) external;

    /// @notice Set how many emergency approvals activate an episode.
    /// Requirements: caller is the default admin; `threshold >= 1`.
    /// Emits {BreakGlassThresholdChanged}.
    function setBreakGlassThreshold(uint8 threshold) external;

    /// @notice True when `grantee` may now do `action` (a bitmask; all bits must be
    /// permitted) on `scope` of `patient`'s record for purpose code `purpose`.
    /// Constant cost: the exact-scope slot, the wildcard slot and the break-glass slot.
    function hasAccess(
        address patient,
        address grantee,
        bytes32 scope,
        uint8 action,
        uint8 purpose
    ) external view returns (bool ok);

    /// @notice The stored permit and deny provisions of (`patient`, `grantee`, `scope`).
    function provisionOf(
        address patient,
        address grantee,
        bytes32 scope
    ) external view returns (Provision memory permit, Provision memory denial);

    /// @notice True when `caller` may manage `patient`'s consent: the identity is active
    /// and `caller` is its current DID owner or a valid consent delegate.
    function isManager(address patient, address caller) external view returns (bool);

    /// @notice The signature sequence of (`patient`, `grantee`, `scope`): the `nonce` the
    /// next signed provision or revocation of that key must carry.
    function signatureNonce(
        address patient,
        address grantee,
        bytes32 scope
    ) external view returns (uint256);

    /// @notice A break-glass episode.
    function episode(uint256 episodeId) external view returns (Episode memory);

    /// @notice Whether `approver` approved episode `episodeId`.
    function hasApproved(uint256 episodeId, address approver) external view returns (bool);

    /// @notice The active emergency access of `clinician` to `patient`: expiry (0 if none
    /// ever) and the episode that granted it.
    function emergencyAccess(
        address patient,
        address clinician
    ) external view returns (uint40 expiresAt, uint256 episodeId);

    /// @notice Number of episodes created so far (ids are 1..episodeCount).
    function episodeCount() external view returns (uint256);

    /// @notice Number of activated episodes still awaiting their privacy-officer review.
    function awaitingReview() external view returns (uint256);

    /// @notice Approvals needed to activate an episode.
    function breakGlassThreshold() external view returns (uint8);

    /// @notice The DID registry consulted for owners and delegates.
    function didRegistry() external view returns (address);

    /// @notice The EIP-712 domain separator (chain id and this address included).
    function domainSeparator() external view returns (bytes32);

    /// @notice The version this one carries provisions and roles over from (zero for a
    /// first version). docs/upgrades.md, "ConsentRegistry: migration".
    function predecessor() external view returns (address);

    /// @notice Copy the provisions of `keys` from the predecessor: for each key, the
    /// predecessor's permit and deny halves (`provisionOf`) and signature sequence
    /// (`signatureNonce`) become this version's, so a caller can only copy what the
    /// predecessor says. Anyone may call it, any number of times. A key is (re)copied only
    /// while this version has not changed it since its last import; a key changed here is
    /// skipped (this version is then newer). A key already equal to the predecessor's is
    /// left alone, without an event, so re-running an import is cheap. A consent delegate's
    /// change of a key this version has not changed yet imports the key first (same events),
    /// so the patient's deny binds the delegate before the import reached the key.
    /// Requirements: this version has a predecessor.
    /// Emits, per copied key, {ConsentGranted} / {ConsentDenied} for each copied half that
    /// changed, {ConsentRevoked} for each half the copy removed, then {ConsentImported};
    /// {ConsentImportSkipped} per skipped key.
    function importProvisions(ConsentKey[] calldata keys) external;

    /// @notice Give `role` to each of `accounts` that holds it in the predecessor. Anyone
    /// may call it. An account this version revoked the role from (or that renounced it
    /// here) is skipped: a re-import cannot undo governance.
    /// Requirements:
    /// - this version has a predecessor;
    /// - `role` is CLINICIAN_ROLE, EMERGENCY_APPROVER_ROLE or PRIVACY_OFFICER_ROLE (never
    ///   the default admin role, which this version's constructor sets);
    /// - the predecessor grants `role` to every account.
    /// Emits {RoleGranted} and {ConsentRoleImported} per account that did not hold it,
    /// {ConsentRoleImportSkipped} per skipped account.
    function importRoles(bytes32 role, address[] calldata accounts) external;
}
