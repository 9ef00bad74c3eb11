// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

import {IConsentDIDRegistry, IConsentRegistry} from "../interfaces/IConsentRegistry.sol";
import {IRecordWriteAuthorizer} from "../interfaces/IRecordWriteAuthorizer.sol";

/// @title ConsentRegistry
/// @notice Patients decide who may do what with which part of their record, for which
/// purpose and until when. A provision is keyed by (patient, grantee, scope) and stored as
/// ONE packed slot holding both the permit and the deny part, so `hasAccess` reads at most
/// three slots (exact scope, wildcard scope, break-glass) whatever the number of grants.
/// Deny overrides permit (FHIR Consent). Patients may sign grants off-chain (EIP-712,
/// ERC-1271 wallets) for anyone to relay; their DID owner or consent delegate (ERC-1056
/// registry, delegate type "medchain/consent") may manage consent for them. Grantees record
/// each access on chain (`recordAccess`), and break-glass gives a clinician bounded
/// emergency access after M approvals, with a mandatory privacy-officer review.
contract ConsentRegistry is IConsentRegistry, AccessControlDefaultAdminRules, EIP712, Nonces {
    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Action bits.
    uint8 public constant READ = 1;
    uint8 public constant WRITE = 2;
    uint8 public constant SHARE = 4;
    uint8 private constant _ALL_ACTIONS = 7;

    /// @notice Purpose-of-use codes (HL7 v3 PurposeOfUse) used by this contract itself;
    /// the full table (index = bit) lives in the SDK and docs/consent.md.
    uint8 public constant TREAT = 0;
    uint8 public constant ETREAT = 1;

    /// @notice Scope matching every data category of a patient.
    /// (ASCII "*" left-aligned, the encoding medchain.records uses for record types).
    bytes32 public constant ANY_SCOPE = bytes32("*");

    /// @notice ERC-1056 delegate type that may manage a patient's consent (a guardian,
    /// a carer). bytes32 of the ASCII string, as ethr-did tools encode delegate types.
    bytes32 public constant CONSENT_DELEGATE = bytes32("medchain/consent");

    /// @notice Roles.
    bytes32 public constant CLINICIAN_ROLE = keccak256("CLINICIAN_ROLE");
    bytes32 public constant EMERGENCY_APPROVER_ROLE = keccak256("EMERGENCY_APPROVER_ROLE");
    bytes32 public constant PRIVACY_OFFICER_ROLE = keccak256("PRIVACY_OFFICER_ROLE");

    /// @notice Longest emergency access one episode can grant.
    uint32 public constant MAX_BREAK_GLASS_DURATION = 24 hours;
    /// @notice A break-glass request must reach its threshold within this time.
    uint32 public constant REQUEST_TTL = 1 hours;

    bytes32 private constant _PROVISION_TYPEHASH = keccak256(
        "SignedProvision(address patient,address grantee,bytes32 scope,uint8 actions,uint32 purposes,uint40 start,uint40 end,bool deny,address signer,uint256 nonce,uint256 deadline)"
    );
    bytes32 private constant _REVOCATION_TYPEHASH = keccak256(
        "SignedRevocation(address patient,address grantee,bytes32 scope,bool deny,address signer,uint256 nonce,uint256 deadline)"
    );

    // Packed provision slot (uint256), low bits first:
    //   permit: actions uint8 [0..8) | purposes uint32 [8..40) | start uint40 [40..80) | end uint40 [80..120)
    //   deny:   the same 120 bits shifted by 120, [120..240); bits [240..256) unused.
    uint256 private constant _HALF = 120;
    uint256 private constant _HALF_MASK = (1 << 120) - 1;

    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    IConsentDIDRegistry private immutable _did;

    /// @dev keccak256(patient, grantee, scope) => packed permit + deny (layout above).
    mapping(bytes32 => uint256) private _provisions;

    /// @dev Episode storage, 4 slots:
    ///   slot 0: patient address (160) | duration uint32 | approvals uint8 | status uint8 | requestedAt uint40 (248)
    ///   slot 1: clinician address (160) | expiresAt uint40 (200)
    ///   slot 2: reasonHash; slot 3: reviewHash (written by the review).
    struct EpisodeData {
        address patient;
        uint32 duration;
        uint8 approvals;
        EpisodeStatus status;
        uint40 requestedAt;
        address clinician;
        uint40 expiresAt;
        bytes32 reasonHash;
        bytes32 reviewHash;
    }

    mapping(uint256 => EpisodeData) private _episodes;
    mapping(uint256 => mapping(address => bool)) private _approvedBy;
    /// @dev keccak256(patient, clinician) => expiresAt uint40 [0..40) | episodeId [40..256).
    mapping(bytes32 => uint256) private _emergency;

    /// @dev Packed in one slot: episode counter uint64 | awaiting review uint64 | threshold uint8.
    uint64 private _episodeCount;
    uint64 private _awaitingReview;
    uint8 private _threshold;

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param did The ERC-1056 DID registry consulted for owners and consent delegates.
    /// @param adminDelay Delay of the two-step default-admin transfer (seconds).
    /// @param admin Initial default admin (governance).
    /// @param threshold Emergency approvals needed to activate a break-glass episode.
    constructor(IConsentDIDRegistry did, uint48 adminDelay, address admin, uint8 threshold)
        AccessControlDefaultAdminRules(adminDelay, admin)
        EIP712("MedchainConsent", "1")
    {
        if (threshold == 0) revert BreakGlassInvalidThreshold(threshold);
        _did = did;
        _threshold = threshold;
        emit BreakGlassThresholdChanged(threshold);
    }

    /*//////////////////////////////////////////////////////////////
                          CONSENT MANAGEMENT
    //////////////////////////////////////////////////////////////*/

    /// @notice Set the permit provision of (`patient`, `grantee`, `scope`): `grantee` may do
    /// `actions` for `purposes` between `start` and `end` (exclusive). Replaces an earlier permit.
    /// Requirements:
    /// - caller is `patient`, its DID owner, or its valid "medchain/consent" delegate;
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
    ) external {
        _checkManager(patient, msg.sender);
        _setProvision(patient, grantee, scope, actions, purposes, start, end, false, msg.sender);
    }

    /// @notice Set the deny provision of (`patient`, `grantee`, `scope`); a matching deny
    /// overrides any permit, including one on the wildcard scope. Replaces an earlier deny.
    /// Requirements: as {grant}.
    /// Emits {ConsentDenied}.
    function deny(
        address patient,
        address grantee,
        bytes32 scope,
        uint8 actions,
        uint32 purposes,
        uint40 start,
        uint40 end
    ) external {
        _checkManager(patient, msg.sender);
        _setProvision(patient, grantee, scope, actions, purposes, start, end, true, msg.sender);
    }

    /// @notice Remove the permit provision of (`patient`, `grantee`, `scope`). Stops new
    /// accesses at once; it cannot recall data the grantee already obtained.
    /// Requirements:
    /// - caller is `patient`, its DID owner, or its valid consent delegate;
    /// - a permit provision exists.
    /// Emits {ConsentRevoked}.
    function revoke(address patient, address grantee, bytes32 scope) external {
        _checkManager(patient, msg.sender);
        _removeProvision(patient, grantee, scope, false, msg.sender);
    }

    /// @notice Remove the deny provision of (`patient`, `grantee`, `scope`).
    /// Requirements: caller as {revoke}; a deny provision exists.
    /// Emits {ConsentRevoked} with `deny == true`.
    function liftDeny(address patient, address grantee, bytes32 scope) external {
        _checkManager(patient, msg.sender);
        _removeProvision(patient, grantee, scope, true, msg.sender);
    }

    /// @notice Relay a provision signed (EIP-712) by the patient or its manager.
    /// Requirements:
    /// - `block.timestamp <= p.deadline`;
    /// - `p.nonce` is the patient's current nonce (each signature works once);
    /// - `p.signer` is the patient, its DID owner or consent delegate, and `signature`
    ///   verifies for it (ECDSA, or ERC-1271 for contract wallets);
    /// - the provision is valid as in {grant}.
    /// Emits {ConsentGranted} or {ConsentDenied}.
    function grantBySig(SignedProvision calldata p, bytes calldata signature) external {
        bytes32 structHash = keccak256(
            abi.encode(
                _PROVISION_TYPEHASH,
                p.patient,
                p.grantee,
                p.scope,
                p.actions,
                p.purposes,
                p.start,
                p.end,
                p.deny,
                p.signer,
                p.nonce,
                p.deadline
            )
        );
        _verifySigned(p.patient, p.signer, p.nonce, p.deadline, structHash, signature);
        _setProvision(
            p.patient, p.grantee, p.scope, p.actions, p.purposes, p.start, p.end, p.deny, p.signer
        );
    }

    /// @notice Relay a revocation signed (EIP-712) by the patient or its manager.
    /// Requirements: as {grantBySig}; the provision to remove exists.
    /// Emits {ConsentRevoked}.
    function revokeBySig(SignedRevocation calldata r, bytes calldata signature) external {
        bytes32 structHash = keccak256(
            abi.encode(
                _REVOCATION_TYPEHASH,
                r.patient,
                r.grantee,
                r.scope,
                r.deny,
                r.signer,
                r.nonce,
                r.deadline
            )
        );
        _verifySigned(r.patient, r.signer, r.nonce, r.deadline, structHash, signature);
        _removeProvision(r.patient, r.grantee, r.scope, r.deny, r.signer);
    }

    /*//////////////////////////////////////////////////////////////
                                 AUDIT
    //////////////////////////////////////////////////////////////*/

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
    ) external {
        (bool ok, uint256 episodeId) = _access(patient, msg.sender, scope, action, purpose);
        if (!ok) revert ConsentAccessDenied(patient, msg.sender, scope, action, purpose);
        emit AccessRecorded(patient, msg.sender, scope, action, purpose, recordRef, episodeId);
    }

    /*//////////////////////////////////////////////////////////////
                              BREAK-GLASS
    //////////////////////////////////////////////////////////////*/

    /// @notice Ask for emergency access to `patient`'s record for `duration` seconds,
    /// giving the hash of the clinical reason (the text stays off chain).
    /// Requirements:
    /// - caller has CLINICIAN_ROLE;
    /// - `0 < duration <= MAX_BREAK_GLASS_DURATION`.
    /// Emits {BreakGlassRequested}.
    function requestBreakGlass(address patient, bytes32 reasonHash, uint32 duration)
        external
        onlyRole(CLINICIAN_ROLE)
        returns (uint256 episodeId)
    {
        if (duration == 0 || duration > MAX_BREAK_GLASS_DURATION) {
            revert BreakGlassInvalidDuration(duration, MAX_BREAK_GLASS_DURATION);
        }
        episodeId = ++_episodeCount;
        EpisodeData storage e = _episodes[episodeId];
        e.patient = patient;
        e.duration = duration;
        e.status = EpisodeStatus.Pending;
        e.requestedAt = uint40(block.timestamp);
        e.clinician = msg.sender;
        e.reasonHash = reasonHash;
        emit BreakGlassRequested(episodeId, patient, msg.sender, reasonHash, duration);
    }

    /// @notice Approve a pending episode; the approval that reaches the threshold activates
    /// the clinician's emergency access (ETREAT read/write on every scope) until
    /// `now + duration`, and the episode then awaits review.
    /// Requirements:
    /// - caller has EMERGENCY_APPROVER_ROLE and is not the requesting clinician;
    /// - the episode is Pending, requested less than REQUEST_TTL ago, not yet approved by caller.
    /// Emits {BreakGlassApproved}; {BreakGlassActivated} when the threshold is reached.
    function approveBreakGlass(uint256 episodeId) external onlyRole(EMERGENCY_APPROVER_ROLE) {
        EpisodeData storage e = _existing(episodeId);
        if (e.status != EpisodeStatus.Pending) revert BreakGlassWrongStatus(episodeId, e.status);
        uint256 expiredAt = uint256(e.requestedAt) + REQUEST_TTL;
        if (block.timestamp >= expiredAt) revert BreakGlassRequestExpired(episodeId, expiredAt);
        if (msg.sender == e.clinician) revert BreakGlassSelfApproval(episodeId, msg.sender);
        if (_approvedBy[episodeId][msg.sender]) {
            revert BreakGlassAlreadyApproved(episodeId, msg.sender);
        }
        _approvedBy[episodeId][msg.sender] = true;
        uint8 approvals = e.approvals + 1; // checked: cannot pass 255 as the threshold stops it
        e.approvals = approvals;
        emit BreakGlassApproved(episodeId, msg.sender, approvals);
        if (approvals >= _threshold) {
            uint40 expiresAt = uint40(block.timestamp + e.duration);
            e.status = EpisodeStatus.Active;
            e.expiresAt = expiresAt;
            address patient = e.patient;
            address clinician = e.clinician;
            _emergency[_pairKey(patient, clinician)] = uint256(expiresAt) | (episodeId << 40);
            _awaitingReview += 1;
            emit BreakGlassActivated(episodeId, patient, clinician, expiresAt);
        }
    }

    /// @notice End one's own active emergency access before it expires.
    /// Requirements:
    /// - caller is the episode's clinician; the episode is Active and not yet expired.
    /// Emits {BreakGlassClosed}.
    function closeBreakGlass(uint256 episodeId) external {
        EpisodeData storage e = _existing(episodeId);
        if (msg.sender != e.clinician) revert BreakGlassNotRequester(episodeId, msg.sender);
        if (e.status != EpisodeStatus.Active || block.timestamp >= e.expiresAt) {
            revert BreakGlassWrongStatus(episodeId, e.status);
        }
        uint40 nowTs = uint40(block.timestamp);
        e.expiresAt = nowTs;
        bytes32 pair = _pairKey(e.patient, msg.sender);
        // Only end the pair's access if it is still this episode's (a later one may run).
        if (_emergency[pair] >> 40 == episodeId) _emergency[pair] = uint256(nowTs) | (episodeId << 40);
        emit BreakGlassClosed(episodeId, e.patient, nowTs);
    }

    /// @notice Record the privacy officer's post-event review of an episode: accepted
    /// (justified) or flagged (for follow-up), with the hash of the review notes.
    /// Requirements:
    /// - caller has PRIVACY_OFFICER_ROLE;
    /// - the episode is Active and its access has ended (expired or closed).
    /// Emits {BreakGlassReviewed}.
    function reviewBreakGlass(uint256 episodeId, bool accepted, bytes32 reviewHash)
        external
        onlyRole(PRIVACY_OFFICER_ROLE)
    {
        EpisodeData storage e = _existing(episodeId);
        if (e.status != EpisodeStatus.Active) revert BreakGlassWrongStatus(episodeId, e.status);
        if (block.timestamp < e.expiresAt) revert BreakGlassStillActive(episodeId, e.expiresAt);
        e.status = accepted ? EpisodeStatus.Accepted : EpisodeStatus.Flagged;
        e.reviewHash = reviewHash;
        _awaitingReview -= 1;
        emit BreakGlassReviewed(episodeId, e.patient, msg.sender, accepted, reviewHash);
    }

    /// @notice Set how many emergency approvals activate an episode.
    /// Requirements: caller is the default admin; `threshold >= 1`.
    /// Emits {BreakGlassThresholdChanged}.
    function setBreakGlassThreshold(uint8 threshold) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (threshold == 0) revert BreakGlassInvalidThreshold(threshold);
        _threshold = threshold;
        emit BreakGlassThresholdChanged(threshold);
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice True when `grantee` may now do `action` (a bitmask; all bits must be
    /// permitted) on `scope` of `patient`'s record for purpose code `purpose`.
    /// Constant cost: the exact-scope slot, the wildcard slot and the break-glass slot.
    function hasAccess(address patient, address grantee, bytes32 scope, uint8 action, uint8 purpose)
        external
        view
        returns (bool ok)
    {
        (ok,) = _access(patient, grantee, scope, action, purpose);
    }

    /// @inheritdoc IRecordWriteAuthorizer
    /// @dev Write consent for treatment (purpose TREAT): records are anchored for care.
    function canWrite(address patient, address writer, bytes32 scope)
        external
        view
        returns (bool ok)
    {
        (ok,) = _access(patient, writer, scope, WRITE, TREAT);
    }

    /// @notice The stored permit and deny provisions of (`patient`, `grantee`, `scope`).
    function provisionOf(address patient, address grantee, bytes32 scope)
        external
        view
        returns (Provision memory permit, Provision memory denial)
    {
        uint256 packed = _provisions[_key(patient, grantee, scope)];
        permit = _unpack(packed & _HALF_MASK);
        denial = _unpack(packed >> _HALF);
    }

    /// @notice True when `caller` may manage `patient`'s consent.
    function isManager(address patient, address caller) public view returns (bool) {
        return caller == patient || _did.identityOwner(patient) == caller
            || _did.validDelegate(patient, CONSENT_DELEGATE, caller);
    }

    /// @notice A break-glass episode.
    function episode(uint256 episodeId) external view returns (Episode memory) {
        EpisodeData storage e = _episodes[episodeId];
        return Episode({
            patient: e.patient,
            clinician: e.clinician,
            reasonHash: e.reasonHash,
            duration: e.duration,
            approvals: e.approvals,
            status: e.status,
            requestedAt: e.requestedAt,
            expiresAt: e.expiresAt,
            reviewHash: e.reviewHash
        });
    }

    /// @notice Whether `approver` approved episode `episodeId`.
    function hasApproved(uint256 episodeId, address approver) external view returns (bool) {
        return _approvedBy[episodeId][approver];
    }

    /// @notice The active emergency access of `clinician` to `patient`: expiry (0 if none
    /// ever) and the episode that granted it.
    function emergencyAccess(address patient, address clinician)
        external
        view
        returns (uint40 expiresAt, uint256 episodeId)
    {
        uint256 packed = _emergency[_pairKey(patient, clinician)];
        return (uint40(packed), packed >> 40);
    }

    /// @notice Number of episodes created so far (ids are 1..episodeCount).
    function episodeCount() external view returns (uint256) {
        return _episodeCount;
    }

    /// @notice Number of activated episodes still awaiting their privacy-officer review.
    function awaitingReview() external view returns (uint256) {
        return _awaitingReview;
    }

    /// @notice Approvals needed to activate an episode.
    function breakGlassThreshold() external view returns (uint8) {
        return _threshold;
    }

    /// @notice The DID registry consulted for owners and delegates.
    function didRegistry() external view returns (address) {
        return address(_did);
    }

    /// @notice The EIP-712 domain separator (chain id and this address included).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /*//////////////////////////////////////////////////////////////
                               INTERNAL
    //////////////////////////////////////////////////////////////*/

    function _checkManager(address patient, address caller) internal view {
        // The patient's own call needs no registry lookup (keeps a grant under 50k gas).
        if (!isManager(patient, caller)) revert ConsentUnauthorizedManager(patient, caller);
    }

    function _verifySigned(
        address patient,
        address signer,
        uint256 nonce,
        uint256 deadline,
        bytes32 structHash,
        bytes calldata signature
    ) internal {
        if (block.timestamp > deadline) revert ConsentExpiredSignature(deadline, block.timestamp);
        _useCheckedNonce(patient, nonce);
        if (!SignatureChecker.isValidSignatureNow(signer, _hashTypedDataV4(structHash), signature)) {
            revert ConsentInvalidSignature(signer);
        }
        _checkManager(patient, signer);
    }

    function _setProvision(
        address patient,
        address grantee,
        bytes32 scope,
        uint8 actions,
        uint32 purposes,
        uint40 start,
        uint40 end,
        bool isDeny,
        address by
    ) internal {
        if (
            actions == 0 || actions > _ALL_ACTIONS || purposes == 0 || start >= end
                || end <= block.timestamp
        ) revert ConsentInvalidProvision(actions, purposes, start, end);
        bytes32 key = _key(patient, grantee, scope);
        uint256 half = uint256(actions) | (uint256(purposes) << 8) | (uint256(start) << 40)
            | (uint256(end) << 80);
        uint256 packed = _provisions[key];
        if (isDeny) {
            _provisions[key] = (packed & _HALF_MASK) | (half << _HALF);
            emit ConsentDenied(patient, grantee, scope, actions, purposes, start, end);
        } else {
            _provisions[key] = (packed & ~_HALF_MASK) | half;
            emit ConsentGranted(patient, grantee, scope, actions, purposes, start, end);
        }
        if (by != patient) emit ConsentManagedBy(patient, by);
    }

    function _removeProvision(
        address patient,
        address grantee,
        bytes32 scope,
        bool isDeny,
        address by
    ) internal {
        bytes32 key = _key(patient, grantee, scope);
        uint256 packed = _provisions[key];
        uint256 keepMask = isDeny ? _HALF_MASK : ~_HALF_MASK;
        if (packed & ~keepMask == 0) revert ConsentNotFound(patient, grantee, scope, isDeny);
        _provisions[key] = packed & keepMask;
        emit ConsentRevoked(patient, grantee, scope, isDeny);
        if (by != patient) emit ConsentManagedBy(patient, by);
    }

    /// @dev The access rule: an active ETREAT break-glass grants read/write on every scope;
    /// otherwise a matching deny (exact or wildcard scope) refuses, and a matching permit
    /// (exact or wildcard scope) allows.
    function _access(address patient, address grantee, bytes32 scope, uint8 action, uint8 purpose)
        internal
        view
        returns (bool, uint256)
    {
        if (action == 0 || purpose > 31) return (false, 0);
        uint256 purposeBit = uint256(1) << purpose;
        if (purpose == ETREAT && action & ~(READ | WRITE) == 0) {
            uint256 emergency = _emergency[_pairKey(patient, grantee)];
            if (block.timestamp < uint40(emergency)) return (true, emergency >> 40);
        }
        uint256 exact = _provisions[_key(patient, grantee, scope)];
        uint256 wild = scope == ANY_SCOPE ? 0 : _provisions[_key(patient, grantee, ANY_SCOPE)];
        if (
            _denies(exact >> _HALF, action, purposeBit) || _denies(wild >> _HALF, action, purposeBit)
        ) return (false, 0);
        return (
            _permits(exact & _HALF_MASK, action, purposeBit)
                || _permits(wild & _HALF_MASK, action, purposeBit),
            0
        );
    }

    function _permits(uint256 half, uint8 action, uint256 purposeBit) private view returns (bool) {
        return uint8(half) & action == action && (half >> 8) & purposeBit != 0
            && _inWindow(half);
    }

    function _denies(uint256 half, uint8 action, uint256 purposeBit) private view returns (bool) {
        return uint8(half) & action != 0 && (half >> 8) & purposeBit != 0 && _inWindow(half);
    }

    function _inWindow(uint256 half) private view returns (bool) {
        return block.timestamp >= uint40(half >> 40) && block.timestamp < uint40(half >> 80);
    }

    function _unpack(uint256 half) private pure returns (Provision memory) {
        return Provision({
            actions: uint8(half),
            purposes: uint32(half >> 8),
            start: uint40(half >> 40),
            end: uint40(half >> 80)
        });
    }

    function _existing(uint256 episodeId) private view returns (EpisodeData storage e) {
        e = _episodes[episodeId];
        if (e.status == EpisodeStatus.None) revert BreakGlassUnknownEpisode(episodeId);
    }

    function _key(address patient, address grantee, bytes32 scope) private pure returns (bytes32) {
        return keccak256(abi.encode(patient, grantee, scope));
    }

    function _pairKey(address patient, address clinician) private pure returns (bytes32) {
        return keccak256(abi.encode(patient, clinician));
    }
}
