// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {IConsentDIDRegistry, IConsentRegistry} from "../interfaces/IConsentRegistry.sol";
import {IRecordWriteAuthorizer} from "../interfaces/IRecordWriteAuthorizer.sol";

/// @title ConsentRegistry
/// @notice Patients decide who may do what with which part of their record, for which
/// purpose and until when. A provision is keyed by (patient, grantee, scope) and stored as
/// ONE packed slot holding both the permit and the deny part, so `hasAccess` reads at most
/// three slots (exact scope, wildcard scope, break-glass) whatever the number of grants.
/// Deny overrides permit (FHIR Consent). Authority over a patient's consent comes from the
/// DID registry alone: the identity's CURRENT owner (the patient's own key until it rotates)
/// and its valid "medchain/consent" delegates; a deactivated identity has no manager and
/// its permits grant nothing. Delegates may not lift or replace a deny, nor grant
/// themselves. Patients may sign provisions off-chain (EIP-712, ERC-1271 wallets) for
/// anyone to relay; replay protection is a 16-bit sequence kept in the provision's own
/// slot (no per-patient nonce slot): any change of a provision voids older signatures
/// over it. Grantees record each access on chain (`recordAccess`), and break-glass gives
/// a clinician bounded emergency access after M approvals, while the clinician keeps
/// CLINICIAN_ROLE; a privacy officer or the admin may cancel or end it; every episode
/// gets a privacy-officer review.
/// Versions are immutable (a proxy's ~4.9k gas per call does not fit the grant's anchor):
/// a new version names its `predecessor` and anyone may copy the predecessor's provisions
/// and roles into it, read through the predecessor's own views, so nobody can inject data
/// (docs/upgrades.md, "ConsentRegistry: migration").
contract ConsentRegistry is IConsentRegistry, AccessControlDefaultAdminRules, EIP712 {
    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IConsentRegistry
    uint8 public constant READ = 1;
    /// @inheritdoc IConsentRegistry
    uint8 public constant WRITE = 2;
    /// @inheritdoc IConsentRegistry
    uint8 public constant SHARE = 4;
    uint8 private constant _ALL_ACTIONS = READ | WRITE | SHARE;

    /// @inheritdoc IConsentRegistry
    uint8 public constant TREAT = 0;
    /// @inheritdoc IConsentRegistry
    uint8 public constant ETREAT = 1;

    /// @inheritdoc IConsentRegistry
    bytes32 public constant ANY_SCOPE = bytes32("*");

    /// @inheritdoc IConsentRegistry
    bytes32 public constant CONSENT_DELEGATE = bytes32("medchain/consent");

    /// @inheritdoc IConsentRegistry
    bytes32 public constant CLINICIAN_ROLE = keccak256("CLINICIAN_ROLE");
    /// @inheritdoc IConsentRegistry
    bytes32 public constant EMERGENCY_APPROVER_ROLE = keccak256("EMERGENCY_APPROVER_ROLE");
    /// @inheritdoc IConsentRegistry
    bytes32 public constant PRIVACY_OFFICER_ROLE = keccak256("PRIVACY_OFFICER_ROLE");

    /// @inheritdoc IConsentRegistry
    uint32 public constant MAX_BREAK_GLASS_DURATION = 24 hours;
    /// @inheritdoc IConsentRegistry
    uint32 public constant REQUEST_TTL = 1 hours;

    bytes32 private constant _PROVISION_TYPEHASH = keccak256(
        "SignedProvision(address patient,address grantee,bytes32 scope,uint8 actions,uint32 purposes,uint40 start,uint40 end,bool deny,address signer,uint256 nonce,uint256 deadline)"
    );
    bytes32 private constant _REVOCATION_TYPEHASH = keccak256(
        "SignedRevocation(address patient,address grantee,bytes32 scope,bool deny,address signer,uint256 nonce,uint256 deadline)"
    );

    // Packed provision slot (uint256), low bits first:
    //   permit: actions uint8 [0..8) | purposes uint32 [8..40) | start uint40 [40..80) | end uint40 [80..120)
    //   deny:   the same 120 bits shifted by 120, [120..240);
    //   signature sequence uint16 [240..256): bumped by every change of the key; a signed
    //   change must carry the current value (replay and stale-signature protection).
    uint256 private constant _HALF = 120;
    uint256 private constant _HALF_MASK = (1 << 120) - 1;
    uint256 private constant _DENY_MASK = _HALF_MASK << 120;
    uint256 private constant _SEQ_SHIFT = 240;
    uint256 private constant _SEQ_MAX = 0xFFFF;
    /// @dev Marks a direct (unsigned) change: no sequence to check.
    uint256 private constant _DIRECT = type(uint256).max;

    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    IConsentDIDRegistry private immutable _did;
    /// @dev The version provisions and roles are imported from (zero for a first version).
    IConsentRegistry private immutable _predecessor;

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

    /// @dev key => the packed provision the last import wrote (0 if never imported). While
    /// `_provisions[key]` still equals it, this version has not changed the key, so a new
    /// import may refresh it from the predecessor; once they differ, this version is newer.
    /// Written only by the import: the grant path pays nothing for the migration.
    mapping(bytes32 => uint256) private _imported;
    /// @dev role => account => revoked (or renounced) in this version at least once: the
    /// predecessor's grant is then never copied again.
    mapping(bytes32 => mapping(address => bool)) private _roleRevokedHere;

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param did The ERC-1056 DID registry consulted for owners and consent delegates.
    /// @param adminDelay Delay of the two-step default-admin transfer (seconds).
    /// @param admin Initial default admin (governance).
    /// @param threshold Emergency approvals needed to activate a break-glass episode.
    /// @param predecessor_ The version this one migrates from; zero for a first version.
    constructor(
        IConsentDIDRegistry did,
        uint48 adminDelay,
        address admin,
        uint8 threshold,
        IConsentRegistry predecessor_
    ) AccessControlDefaultAdminRules(adminDelay, admin) EIP712("MedchainConsent", "1") {
        if (threshold == 0) revert ConsentBreakGlassInvalidThreshold(threshold);
        _did = did;
        _predecessor = predecessor_;
        _threshold = threshold;
        emit BreakGlassThresholdChanged(threshold);
    }

    /*//////////////////////////////////////////////////////////////
                           CONSENT MANAGEMENT
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IConsentRegistry
    function grant(
        address patient,
        address grantee,
        bytes32 scope,
        uint8 actions,
        uint32 purposes,
        uint40 start,
        uint40 end
    ) external {
        bool byOwner = _checkManager(patient, msg.sender);
        _setProvision(
            patient,
            grantee,
            scope,
            _half(actions, purposes, start, end),
            false,
            msg.sender,
            byOwner,
            _DIRECT
        );
    }

    /// @inheritdoc IConsentRegistry
    function deny(
        address patient,
        address grantee,
        bytes32 scope,
        uint8 actions,
        uint32 purposes,
        uint40 start,
        uint40 end
    ) external {
        bool byOwner = _checkManager(patient, msg.sender);
        _setProvision(
            patient,
            grantee,
            scope,
            _half(actions, purposes, start, end),
            true,
            msg.sender,
            byOwner,
            _DIRECT
        );
    }

    /// @inheritdoc IConsentRegistry
    function revoke(address patient, address grantee, bytes32 scope) external {
        bool byOwner = _checkManager(patient, msg.sender);
        _removeProvision(patient, grantee, scope, false, msg.sender, byOwner, _DIRECT);
    }

    /// @inheritdoc IConsentRegistry
    function liftDeny(address patient, address grantee, bytes32 scope) external {
        bool byOwner = _checkManager(patient, msg.sender);
        _removeProvision(patient, grantee, scope, true, msg.sender, byOwner, _DIRECT);
    }

    /// @inheritdoc IConsentRegistry
    function invalidateSignatures(address patient, address grantee, bytes32 scope) external {
        _checkManager(patient, msg.sender);
        bytes32 key = _key(patient, grantee, scope);
        uint256 packed = _provisions[key];
        uint256 seq = packed >> _SEQ_SHIFT;
        if (seq == _SEQ_MAX) revert ConsentSignaturesExhausted(patient, grantee, scope);
        // seq < 0xFFFF, so seq + 1 fits the 16-bit field.
        _provisions[key] = (packed & ~(_SEQ_MAX << _SEQ_SHIFT)) | ((seq + 1) << _SEQ_SHIFT);
        emit ConsentSignaturesInvalidated(patient, grantee, scope, seq + 1);
    }

    /// @inheritdoc IConsentRegistry
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
        bool byOwner = _verifySigned(p.patient, p.signer, p.deadline, structHash, signature);
        _setProvision(
            p.patient,
            p.grantee,
            p.scope,
            _half(p.actions, p.purposes, p.start, p.end),
            p.deny,
            p.signer,
            byOwner,
            p.nonce
        );
    }

    /// @inheritdoc IConsentRegistry
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
        bool byOwner = _verifySigned(r.patient, r.signer, r.deadline, structHash, signature);
        _removeProvision(r.patient, r.grantee, r.scope, r.deny, r.signer, byOwner, r.nonce);
    }

    /*//////////////////////////////////////////////////////////////
                                 AUDIT
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IConsentRegistry
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

    /// @inheritdoc IConsentRegistry
    function requestBreakGlass(address patient, bytes32 reasonHash, uint32 duration)
        external
        onlyRole(CLINICIAN_ROLE)
        returns (uint256 episodeId)
    {
        if (duration == 0 || duration > MAX_BREAK_GLASS_DURATION) {
            revert ConsentBreakGlassInvalidDuration(duration, MAX_BREAK_GLASS_DURATION);
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

    /// @inheritdoc IConsentRegistry
    function approveBreakGlass(uint256 episodeId) external onlyRole(EMERGENCY_APPROVER_ROLE) {
        EpisodeData storage e = _existing(episodeId);
        if (e.status != EpisodeStatus.Pending) revert ConsentBreakGlassWrongStatus(episodeId, e.status);
        uint256 expiredAt = uint256(e.requestedAt) + REQUEST_TTL;
        if (block.timestamp >= expiredAt) revert ConsentBreakGlassRequestExpired(episodeId, expiredAt);
        address clinician = e.clinician;
        if (msg.sender == clinician) revert ConsentBreakGlassSelfApproval(episodeId, msg.sender);
        if (!hasRole(CLINICIAN_ROLE, clinician)) {
            revert ConsentBreakGlassClinicianRevoked(episodeId, clinician);
        }
        if (_approvedBy[episodeId][msg.sender]) {
            revert ConsentBreakGlassAlreadyApproved(episodeId, msg.sender);
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
            _emergency[_pairKey(patient, clinician)] = uint256(expiresAt) | (episodeId << 40);
            _awaitingReview += 1;
            emit BreakGlassActivated(episodeId, patient, clinician, expiresAt);
        }
    }

    /// @inheritdoc IConsentRegistry
    function cancelBreakGlass(uint256 episodeId) external {
        EpisodeData storage e = _existing(episodeId);
        _checkCanStop(episodeId, e.clinician);
        if (e.status != EpisodeStatus.Pending) revert ConsentBreakGlassWrongStatus(episodeId, e.status);
        e.status = EpisodeStatus.Cancelled;
        emit BreakGlassCancelled(episodeId, e.patient, msg.sender);
    }

    /// @inheritdoc IConsentRegistry
    function closeBreakGlass(uint256 episodeId) external {
        EpisodeData storage e = _existing(episodeId);
        address clinician = e.clinician;
        _checkCanStop(episodeId, clinician);
        if (e.status != EpisodeStatus.Active || block.timestamp >= e.expiresAt) {
            revert ConsentBreakGlassWrongStatus(episodeId, e.status);
        }
        uint40 nowTs = uint40(block.timestamp);
        e.expiresAt = nowTs;
        address patient = e.patient;
        bytes32 pair = _pairKey(patient, clinician);
        // Only end the pair's access if it is still this episode's (a later one may run).
        if (_emergency[pair] >> 40 == episodeId) _emergency[pair] = uint256(nowTs) | (episodeId << 40);
        emit BreakGlassClosed(episodeId, patient, msg.sender, nowTs);
    }

    /// @inheritdoc IConsentRegistry
    function reviewBreakGlass(uint256 episodeId, bool accepted, bytes32 reviewHash)
        external
        onlyRole(PRIVACY_OFFICER_ROLE)
    {
        EpisodeData storage e = _existing(episodeId);
        if (e.status != EpisodeStatus.Active) revert ConsentBreakGlassWrongStatus(episodeId, e.status);
        if (block.timestamp < e.expiresAt) revert ConsentBreakGlassStillActive(episodeId, e.expiresAt);
        e.status = accepted ? EpisodeStatus.Accepted : EpisodeStatus.Flagged;
        e.reviewHash = reviewHash;
        _awaitingReview -= 1;
        emit BreakGlassReviewed(episodeId, e.patient, msg.sender, accepted, reviewHash);
    }

    /// @inheritdoc IConsentRegistry
    function setBreakGlassThreshold(uint8 threshold) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (threshold == 0) revert ConsentBreakGlassInvalidThreshold(threshold);
        _threshold = threshold;
        emit BreakGlassThresholdChanged(threshold);
    }

    /*//////////////////////////////////////////////////////////////
                               MIGRATION
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IConsentRegistry
    function importProvisions(ConsentKey[] calldata keys) external {
        IConsentRegistry from = _requirePredecessor();
        uint256 n = keys.length;
        for (uint256 i; i < n; ++i) {
            ConsentKey calldata k = keys[i];
            _importProvision(from, k.patient, k.grantee, k.scope);
        }
    }

    /// @inheritdoc IConsentRegistry
    function importRoles(bytes32 role, address[] calldata accounts) external {
        IConsentRegistry from = _requirePredecessor();
        // The default admin (governance) comes from this version's constructor; copying
        // any other role than the three operational ones would hand out powers v1's admin
        // never had to answer for here.
        if (role != CLINICIAN_ROLE && role != EMERGENCY_APPROVER_ROLE && role != PRIVACY_OFFICER_ROLE)
        {
            revert ConsentRoleNotMigratable(role);
        }
        uint256 n = accounts.length;
        for (uint256 i; i < n; ++i) {
            address account = accounts[i];
            if (!IAccessControl(address(from)).hasRole(role, account)) {
                revert ConsentRoleNotHeldByPredecessor(role, account);
            }
            if (_roleRevokedHere[role][account]) {
                // Governance took it away here: the retired version must not give it back.
                emit ConsentRoleImportSkipped(role, account);
            } else if (_grantRole(role, account)) {
                emit ConsentRoleImported(role, account);
            }
        }
    }

    /// @dev Every revocation here (by the admin, or a renunciation) is remembered, whether
    /// or not the account held the role yet: governance can keep an account of v1 out of
    /// v2 before or after the import, and no re-import undoes it.
    function _revokeRole(bytes32 role, address account) internal override returns (bool) {
        _roleRevokedHere[role][account] = true;
        return super._revokeRole(role, account);
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IConsentRegistry
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

    /// @inheritdoc IConsentRegistry
    function provisionOf(address patient, address grantee, bytes32 scope)
        external
        view
        returns (Provision memory permit, Provision memory denial)
    {
        uint256 packed = _provisions[_key(patient, grantee, scope)];
        permit = _unpack(packed & _HALF_MASK);
        denial = _unpack(packed >> _HALF);
    }

    /// @inheritdoc IConsentRegistry
    function isManager(address patient, address caller) external view returns (bool) {
        address owner = _did.identityOwner(patient);
        return owner != address(0)
            && (caller == owner || _did.validDelegate(patient, CONSENT_DELEGATE, caller));
    }

    /// @inheritdoc IConsentRegistry
    function signatureNonce(address patient, address grantee, bytes32 scope)
        external
        view
        returns (uint256)
    {
        return _provisions[_key(patient, grantee, scope)] >> _SEQ_SHIFT;
    }

    /// @inheritdoc IConsentRegistry
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

    /// @inheritdoc IConsentRegistry
    function hasApproved(uint256 episodeId, address approver) external view returns (bool) {
        return _approvedBy[episodeId][approver];
    }

    /// @inheritdoc IConsentRegistry
    function emergencyAccess(address patient, address clinician)
        external
        view
        returns (uint40 expiresAt, uint256 episodeId)
    {
        uint256 packed = _emergency[_pairKey(patient, clinician)];
        return (uint40(packed), packed >> 40);
    }

    /// @inheritdoc IConsentRegistry
    function episodeCount() external view returns (uint256) {
        return _episodeCount;
    }

    /// @inheritdoc IConsentRegistry
    function awaitingReview() external view returns (uint256) {
        return _awaitingReview;
    }

    /// @inheritdoc IConsentRegistry
    function breakGlassThreshold() external view returns (uint8) {
        return _threshold;
    }

    /// @inheritdoc IConsentRegistry
    function didRegistry() external view returns (address) {
        return address(_did);
    }

    /// @inheritdoc IConsentRegistry
    function predecessor() external view returns (address) {
        return address(_predecessor);
    }

    /// @inheritdoc IConsentRegistry
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    /// @dev Authority comes from the DID registry only: the current owner (true) or a valid
    /// consent delegate (false); a deactivated identity (owner 0) has no manager at all.
    /// The patient's own key is asked about like any other: once rotated away it is nobody.
    function _checkManager(address patient, address caller) internal view returns (bool byOwner) {
        address owner = _ownerOf(patient);
        if (owner == address(0)) revert ConsentIdentityDeactivated(patient);
        if (caller == owner) return true;
        if (!_did.validDelegate(patient, CONSENT_DELEGATE, caller)) {
            revert ConsentUnauthorizedManager(patient, caller, owner);
        }
        return false;
    }

    /// @dev `_did.identityOwner(patient)` without the ABI-encoder round trip (this call sits
    /// on every grant; it keeps a direct grant under 56,000 gas).
    function _ownerOf(address patient) private view returns (address owner) {
        address did = address(_did);
        // Memory-safe: only the scratch space [0x00, 0x40) is written; a failed call or
        // short answer bubbles up as a revert, as a high-level call would.
        assembly ("memory-safe") {
            mstore(0x00, shl(224, 0x8733d4e8)) // identityOwner(address)
            mstore(0x04, patient)
            if iszero(staticcall(gas(), did, 0x00, 0x24, 0x00, 0x20)) {
                returndatacopy(0x00, 0x00, returndatasize())
                revert(0x00, returndatasize())
            }
            if lt(returndatasize(), 0x20) { revert(0x00, 0x00) }
            owner := and(mload(0x00), 0xffffffffffffffffffffffffffffffffffffffff)
        }
    }

    /// @dev Broken-glass access may be stopped by its clinician, a privacy officer or the admin.
    function _checkCanStop(uint256 episodeId, address clinician) private view {
        if (
            msg.sender != clinician && !hasRole(PRIVACY_OFFICER_ROLE, msg.sender)
                && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)
        ) revert ConsentBreakGlassCannotStop(episodeId, msg.sender);
    }

    function _verifySigned(
        address patient,
        address signer,
        uint256 deadline,
        bytes32 structHash,
        bytes calldata signature
    ) internal view returns (bool byOwner) {
        if (block.timestamp > deadline) revert ConsentExpiredSignature(deadline, block.timestamp);
        if (!SignatureChecker.isValidSignatureNow(signer, _hashTypedDataV4(structHash), signature)) {
            revert ConsentInvalidSignature(signer);
        }
        return _checkManager(patient, signer);
    }

    /// @dev The key's next sequence after a change: a signed change must carry the current
    /// one (and it must not be exhausted); a direct change bumps it, saturating at the max
    /// (after which the key can only be changed directly).
    function _nextSeq(
        address patient,
        address grantee,
        bytes32 scope,
        uint256 packed,
        uint256 signedNonce
    ) private pure returns (uint256) {
        uint256 seq = packed >> _SEQ_SHIFT;
        if (signedNonce != _DIRECT) {
            if (seq == _SEQ_MAX) revert ConsentSignaturesExhausted(patient, grantee, scope);
            if (signedNonce != seq) revert ConsentInvalidNonce(patient, grantee, scope, seq, signedNonce);
        }
        // seq < 0xFFFF here or saturated: the result fits the 16-bit field.
        return seq == _SEQ_MAX ? seq : seq + 1;
    }

    /// @dev A validated provision half (layout above).
    function _half(uint8 actions, uint32 purposes, uint40 start, uint40 end)
        private
        view
        returns (uint256)
    {
        if (
            actions == 0 || actions > _ALL_ACTIONS || purposes == 0 || start >= end
                || end <= block.timestamp
        ) revert ConsentInvalidProvision(actions, purposes, start, end);
        return uint256(actions) | (uint256(purposes) << 8) | (uint256(start) << 40)
            | (uint256(end) << 80);
    }

    function _setProvision(
        address patient,
        address grantee,
        bytes32 scope,
        uint256 half,
        bool isDeny,
        address by,
        bool byOwner,
        uint256 signedNonce
    ) internal {
        bytes32 key = _key(patient, grantee, scope);
        uint256 packed = _provisions[key];
        if (!byOwner) {
            packed = _syncForDelegate(key, patient, grantee, scope, packed);
            if (isDeny && packed & _DENY_MASK != 0) {
                revert ConsentDenyOwnerOnly(patient, grantee, scope, by);
            }
            if (!isDeny && grantee == by) revert ConsentDelegateSelfGrant(patient, by);
        }
        uint256 seq = _nextSeq(patient, grantee, scope, packed, signedNonce) << _SEQ_SHIFT;
        if (isDeny) {
            _provisions[key] = (packed & _HALF_MASK) | (half << _HALF) | seq;
        } else {
            _provisions[key] = (packed & _DENY_MASK) | half | seq;
        }
        _emitProvision(patient, grantee, scope, half, isDeny);
        if (by != patient) emit ConsentManagedBy(patient, by);
    }

    /// @dev Separate frame for the seven-field events (avoids stack-too-deep without via-IR).
    function _emitProvision(address patient, address grantee, bytes32 scope, uint256 half, bool isDeny)
        private
    {
        uint8 actions = uint8(half);
        uint32 purposes = uint32(half >> 8);
        uint40 start = uint40(half >> 40);
        uint40 end = uint40(half >> 80);
        if (isDeny) emit ConsentDenied(patient, grantee, scope, actions, purposes, start, end);
        else emit ConsentGranted(patient, grantee, scope, actions, purposes, start, end);
    }

    function _removeProvision(
        address patient,
        address grantee,
        bytes32 scope,
        bool isDeny,
        address by,
        bool byOwner,
        uint256 signedNonce
    ) internal {
        bytes32 key = _key(patient, grantee, scope);
        uint256 packed = _provisions[key];
        if (!byOwner) packed = _syncForDelegate(key, patient, grantee, scope, packed);
        uint256 dropMask = isDeny ? _DENY_MASK : _HALF_MASK;
        if (packed & dropMask == 0) revert ConsentNotFound(patient, grantee, scope, isDeny);
        if (isDeny && !byOwner) revert ConsentDenyOwnerOnly(patient, grantee, scope, by);
        uint256 seq = _nextSeq(patient, grantee, scope, packed, signedNonce) << _SEQ_SHIFT;
        // Keeps the other half; the old sequence is replaced by `seq`.
        _provisions[key] = (packed & (isDeny ? _HALF_MASK : _DENY_MASK)) | seq;
        emit ConsentRevoked(patient, grantee, scope, isDeny);
        if (by != patient) emit ConsentManagedBy(patient, by);
    }

    /// @dev The access rule: an active ETREAT break-glass of a clinician who still holds
    /// CLINICIAN_ROLE grants read/write on every scope; otherwise a matching deny (exact or
    /// wildcard scope) refuses, and a matching permit (exact or wildcard scope) allows -
    /// while the patient's identity is active (a deactivated identity's permits are dead,
    /// as nobody could revoke them any more). The DID registry is asked last, only when
    /// the answer would be yes.
    function _access(address patient, address grantee, bytes32 scope, uint8 action, uint8 purpose)
        internal
        view
        returns (bool, uint256)
    {
        if (action == 0 || purpose > 31) return (false, 0);
        uint256 purposeBit = uint256(1) << purpose;
        if (purpose == ETREAT && action & ~(READ | WRITE) == 0) {
            uint256 emergency = _emergency[_pairKey(patient, grantee)];
            if (block.timestamp < uint40(emergency) && hasRole(CLINICIAN_ROLE, grantee)) {
                return (true, emergency >> 40);
            }
        }
        uint256 exact = _provisions[_key(patient, grantee, scope)];
        uint256 wild = scope == ANY_SCOPE ? 0 : _provisions[_key(patient, grantee, ANY_SCOPE)];
        if (
            _denies(exact >> _HALF, action, purposeBit) || _denies(wild >> _HALF, action, purposeBit)
        ) return (false, 0);
        if (
            !_permits(exact & _HALF_MASK, action, purposeBit)
                && !_permits(wild & _HALF_MASK, action, purposeBit)
        ) return (false, 0);
        return (_ownerOf(patient) != address(0), 0);
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

    function _requirePredecessor() private view returns (IConsentRegistry from) {
        from = _predecessor;
        if (address(from) == address(0)) revert ConsentNoPredecessor();
    }

    /// @dev The re-sync rule: copy while this version has not changed the key since its
    /// last import (`_provisions == _imported`, also true for a key never touched here),
    /// so a change the patient still sent to the retired version is carried over by
    /// importing again, and a change made here is never overwritten.
    function _importProvision(IConsentRegistry from, address patient, address grantee, bytes32 scope)
        private
    {
        bytes32 key = _key(patient, grantee, scope);
        uint256 current = _provisions[key];
        if (current != _imported[key]) {
            emit ConsentImportSkipped(patient, grantee, scope);
            return;
        }
        _copy(key, patient, grantee, scope, current, _readPredecessor(from, patient, grantee, scope));
    }

    /// @dev A consent delegate acting on a key this migrated version has not changed yet
    /// first gets the key brought up to date from the predecessor, so the delegate rules
    /// (no deny lifted or replaced) see the patient's deny even before the import reached
    /// the key; otherwise the delegate's change would make the import skip the key and the
    /// patient's deny would be lost. Only delegates pay for it: the patient's own change
    /// may override its own provisions anyway (it could lift the deny), and the direct
    /// grant's gas anchor has no room for the extra read.
    function _syncForDelegate(
        bytes32 key,
        address patient,
        address grantee,
        bytes32 scope,
        uint256 packed
    ) private returns (uint256) {
        IConsentRegistry from = _predecessor;
        if (address(from) == address(0) || packed != _imported[key]) return packed;
        return _copy(key, patient, grantee, scope, packed, _readPredecessor(from, patient, grantee, scope));
    }

    /// @dev Store the predecessor's `copied` value of a key over `current`; returns the
    /// key's value now.
    function _copy(
        bytes32 key,
        address patient,
        address grantee,
        bytes32 scope,
        uint256 current,
        uint256 copied
    ) private returns (uint256) {
        if (copied == current) return current; // in sync already: re-running costs reads only
        _provisions[key] = copied;
        _imported[key] = copied;
        // The same events the original writes emitted, so event readers (audit, indexer,
        // grants_of) find the provision in this version too.
        _emitImportedHalf(patient, grantee, scope, current & _HALF_MASK, copied & _HALF_MASK, false);
        _emitImportedHalf(
            patient, grantee, scope, (current >> _HALF) & _HALF_MASK, (copied >> _HALF) & _HALF_MASK, true
        );
        emit ConsentImported(patient, grantee, scope, copied >> _SEQ_SHIFT);
        return copied;
    }

    /// @dev The predecessor's provision of the key, repacked into this version's slot layout.
    function _readPredecessor(IConsentRegistry from, address patient, address grantee, bytes32 scope)
        private
        view
        returns (uint256)
    {
        (Provision memory permit, Provision memory denial) = from.provisionOf(patient, grantee, scope);
        // A predecessor is a ConsentRegistry: its sequence is 16 bits like ours.
        uint256 seq = from.signatureNonce(patient, grantee, scope);
        return _pack(permit) | (_pack(denial) << _HALF) | (seq << _SEQ_SHIFT);
    }

    function _pack(Provision memory p) private pure returns (uint256) {
        return uint256(p.actions) | (uint256(p.purposes) << 8) | (uint256(p.start) << 40)
            | (uint256(p.end) << 80);
    }

    function _emitImportedHalf(
        address patient,
        address grantee,
        bytes32 scope,
        uint256 old,
        uint256 half,
        bool isDeny
    ) private {
        if (half == old) return;
        if (half == 0) emit ConsentRevoked(patient, grantee, scope, isDeny);
        else _emitProvision(patient, grantee, scope, half, isDeny);
    }

    function _existing(uint256 episodeId) private view returns (EpisodeData storage e) {
        e = _episodes[episodeId];
        if (e.status == EpisodeStatus.None) revert ConsentBreakGlassUnknownEpisode(episodeId);
    }

    function _key(address patient, address grantee, bytes32 scope) private pure returns (bytes32) {
        return keccak256(abi.encode(patient, grantee, scope));
    }

    function _pairKey(address patient, address clinician) private pure returns (bytes32) {
        return keccak256(abi.encode(patient, clinician));
    }
}
