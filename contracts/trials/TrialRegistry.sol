// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ITrialRegistry} from "../interfaces/ITrialRegistry.sol";
import {IEligibilityErrors, IEligibilityGate} from "../interfaces/IEligibilityRegistry.sol";

/// @title TrialRegistry
/// @notice Clinical-trial logs: a sponsor registers a trial (external registry id, protocol
/// hash + CID, hash of the pre-specified outcomes, a k-of-n ethics board); amendments take effect
/// only when `threshold` board members approve them, and the board's membership changes the same
/// way; sites log enrollments (salted subject commitments, never identities), deviations and
/// adverse events (salted text commitments); the sponsor locks data and reports outcomes, and a
/// reported outcome set that differs from the pre-registered one is recorded and flagged, even
/// when an amendment changed the outcomes in between.
/// @dev Every action extends the trial's hash chain (see {ITrialRegistry}); only the head and
/// the entry count are stored per entry (two slots, both already non-zero), everything else is in
/// the entry's event, so an entry costs the same whatever the trial's size.
/// @dev IEligibilityErrors: the gate's refusals, relayed by {enrollEligible}, are in this ABI.
contract TrialRegistry is ITrialRegistry, IEligibilityErrors {
    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ITrialRegistry
    bytes32 public constant GENESIS_TAG = keccak256("medchain.TrialRegistry.genesis.v1");
    /// @inheritdoc ITrialRegistry
    uint256 public constant MAX_CID_LENGTH = 128;
    /// @inheritdoc ITrialRegistry
    uint8 public constant SERIOUS_FLAG = 0x80;
    /// @inheritdoc ITrialRegistry
    uint256 public constant MAX_ETHICS_BOARD = 16;

    /// @inheritdoc ITrialRegistry
    uint256 public constant MAX_SITES_PER_INVESTIGATOR = 7;

    uint256 private constant _MONITOR_BIT = 1;
    uint256 private constant _ETHICS_BIT = 2;

    /// @inheritdoc ITrialRegistry
    address public immutable predecessor;

    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev Packing: slot 0 = sponsor (160) | entryCount (40) | eligibilityGated (8) | status (8)
    /// | locked (8) | protocolVersion (16) | consentVersion (16) = 256 bits, read by every entry
    /// (so an enrollment learns whether the trial demands an eligibility proof for free);
    /// slot 1 = head; slot 2 = protocolHash; slot 3 = outcomesHash;
    /// slot 4 = registeredBlock (64) | ethicsCount (16) | outcomeReports (32)
    /// | outcomeMismatches (32) | ethicsThreshold (16) | boardEpoch (32) = 192 bits, written only
    /// by rare actions; slot 5 = amendedOutcomesHash (zero until an approved amendment changes
    /// the outcomes). outcomesHash (slot 3) is the pre-registered set and never changes.
    struct Trial {
        address sponsor;
        uint40 entryCount;
        bool eligibilityGated;
        Status status;
        bool locked;
        uint16 protocolVersion;
        uint16 consentVersion;
        bytes32 head;
        bytes32 protocolHash;
        bytes32 outcomesHash;
        uint64 registeredBlock;
        uint16 ethicsCount;
        uint32 outcomeReports;
        uint32 outcomeMismatches;
        uint16 ethicsThreshold;
        uint32 boardEpoch;
        bytes32 amendedOutcomesHash;
    }

    /// @dev A protocol amendment waiting for the ethics board. Packing: slot 0 = protocolHash;
    /// slot 1 = outcomesHash (zero: unchanged); slot 2 = version (16) | consentVersion (16)
    /// | proposedSeq (48), the proposal's entry seq, which binds the board's votes to this proposal
    /// | moveTo (160). A pending move uses the same record (version 0, moveTo = the successor):
    /// {proposeAmendment} already reads slot 2, so refusing an amendment while a move is pending
    /// costs no extra storage read, and the two can never be pending together.
    struct Amendment {
        bytes32 protocolHash;
        bytes32 outcomesHash;
        uint16 version;
        uint16 consentVersion;
        uint48 proposedSeq;
        address moveTo;
    }

    /// @dev A moved trial's successor and the status it had when moved (carried over).
    struct Move {
        address successor;
        Status carriedStatus;
    }

    /// @dev Number of trials registered; trial ids run 1..count.
    uint64 private _trialCount;
    mapping(uint64 trialId => Trial) private _trials;
    /// @dev keccak256(abi.encode(sponsor, registryId)) => trial id.
    mapping(bytes32 registryKey => uint64 trialId) private _idOf;
    mapping(uint64 trialId => Amendment) private _pending;
    /// @dev Everything an account may do in a trial, in one word so that every entry's role
    /// check is one storage read. Packing: bits 0..7 role flags (1 monitor, 2 ethics board);
    /// bits 8 + 32*i .. 39 + 32*i (i = 0..6) the investigator's site ids, 0 = free.
    mapping(uint64 trialId => mapping(address account => uint256 word)) private _members;
    /// @dev Votes on the board's k-of-n decisions. A motion is keccak256(abi.encode(motion entry
    /// type, boardEpoch, nonce, account, version, protocolHash)) with nonce = the amendment's
    /// proposal seq (0 for membership): a membership change (new epoch) or a new proposal starts
    /// every count from zero, so a removed member's vote never counts.
    mapping(uint64 trialId => mapping(bytes32 motion => uint256 approvals)) private _approvals;
    mapping(uint64 trialId => mapping(bytes32 motion => mapping(address member => bool))) private _voted;
    /// @dev The eligibility criteria a gated trial's enrollments must prove (docs/zk.md).
    mapping(uint64 trialId => Eligibility) private _eligibility;
    /// @dev Written once, by the {Moved} entry; read only by views and on refusals.
    mapping(uint64 trialId => Move) private _moved;
    /// @dev Imports from the predecessor, both ways (ids are not reserved: see {importTrial}).
    mapping(uint64 trialId => uint64 oldId) private _importedFrom;
    mapping(uint64 oldId => uint64 trialId) private _importedAs;

    /// @param predecessor_ The registry version trials are imported from; address(0) for a first version.
    constructor(address predecessor_) {
        predecessor = predecessor_;
    }

    /*//////////////////////////////////////////////////////////////
                              REGISTRATION
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ITrialRegistry
    function register(
        bytes32 registryId,
        bytes32 protocolHash,
        string calldata protocolCid,
        bytes32 outcomesHash,
        uint16 consentVersion,
        address[] calldata ethicsBoard,
        uint16 ethicsThreshold
    ) external returns (uint64 trialId) {
        if (registryId == bytes32(0)) revert TrialZeroHash(0, "registryId");
        {
            bytes32 registryKey = keccak256(abi.encode(msg.sender, registryId));
            uint64 existing = _idOf[registryKey];
            if (existing != 0) revert TrialAlreadyRegistered(existing, msg.sender);
            // Checked: 2^64 - 1 registrations would revert, never wrap.
            trialId = ++_trialCount;
            _idOf[registryKey] = trialId;
        }
        Trial storage t = _trials[trialId];
        if (protocolHash == bytes32(0)) revert TrialZeroHash(trialId, "protocolHash");
        if (outcomesHash == bytes32(0)) revert TrialZeroHash(trialId, "outcomesHash");
        _checkCid(protocolCid);
        // members <= MAX_ETHICS_BOARD, checked by _seatBoard.
        t.ethicsCount = uint16(_seatBoard(trialId, ethicsBoard, ethicsThreshold));
        t.sponsor = msg.sender;
        t.status = Status.Active;
        t.protocolVersion = 1;
        t.consentVersion = consentVersion;
        t.head = genesisHead(trialId);
        t.protocolHash = protocolHash;
        t.outcomesHash = outcomesHash;
        t.registeredBlock = uint64(block.number);
        t.ethicsThreshold = ethicsThreshold;
        _recordRegistration(trialId, t, registryId, protocolCid);
        // The board's appointment follows as entries 1..n, authored by the sponsor.
        for (uint256 i; i < ethicsBoard.length; ++i) {
            _recordRoleChange(trialId, t, EntryType.RoleGranted, ethicsBoard[i], Role.Ethics, 0);
        }
    }

    /// @dev Validates the board and its threshold and writes the members' words; returns n.
    function _seatBoard(uint64 trialId, address[] calldata ethicsBoard, uint16 ethicsThreshold)
        private
        returns (uint256 members)
    {
        members = ethicsBoard.length;
        if (members == 0 || members > MAX_ETHICS_BOARD) revert TrialInvalidEthicsBoard(members, MAX_ETHICS_BOARD);
        _checkThreshold(trialId, ethicsThreshold, members);
        for (uint256 i; i < members; ++i) {
            address member = ethicsBoard[i];
            if (member == address(0)) revert TrialZeroAddress("ethicsBoard");
            if (member == msg.sender) revert TrialSponsorOnEthicsBoard(trialId, member);
            uint256 word = _members[trialId][member];
            if (word & _ETHICS_BIT != 0) revert TrialRoleUnchanged(trialId, member, Role.Ethics, 0);
            _members[trialId][member] = word | _ETHICS_BIT;
        }
    }

    /// @dev Entry 0, split out of {register} to keep the stack shallow: hashes come from storage.
    function _recordRegistration(
        uint64 trialId,
        Trial storage t,
        bytes32 registryId,
        string calldata protocolCid
    ) private {
        _append(
            trialId,
            t,
            EntryType.Registered,
            keccak256(
                abi.encode(
                    registryId, t.protocolHash, protocolCid, t.outcomesHash, t.consentVersion, t.ethicsThreshold
                )
            )
        );
        emit TrialRegistered(
            trialId,
            msg.sender,
            uint64(block.timestamp),
            registryId,
            t.protocolHash,
            protocolCid,
            t.outcomesHash,
            t.consentVersion,
            t.ethicsThreshold);
    }

    /*//////////////////////////////////////////////////////////////
                                 ROLES
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ITrialRegistry
    function grantRole(uint64 trialId, address account, Role role, uint32 siteId)
        external
        returns (bool granted)
    {
        Trial storage t = _existing(trialId);
        _checkRoleChange(trialId, t, account, role, siteId);
        uint256 word = _members[trialId][account];
        if (role == Role.Investigator) {
            if (account == t.sponsor) revert TrialSponsorInSiteRole(trialId, account, role);
            if (_siteIndex(word, siteId) != type(uint256).max) revert TrialRoleUnchanged(trialId, account, role, siteId);
            uint256 free = _siteIndex(word, 0);
            if (free == type(uint256).max) revert TrialTooManySites(trialId, account, MAX_SITES_PER_INVESTIGATOR);
            word |= uint256(siteId) << (8 + 32 * free);
        } else if (role == Role.Monitor) {
            if (account == t.sponsor) revert TrialSponsorInSiteRole(trialId, account, role);
            if (word & _MONITOR_BIT != 0) revert TrialRoleUnchanged(trialId, account, role, siteId);
            word |= _MONITOR_BIT;
        } else {
            if (word & _ETHICS_BIT != 0) revert TrialRoleUnchanged(trialId, account, role, siteId);
            if (account == t.sponsor) revert TrialSponsorOnEthicsBoard(trialId, account);
            // At most one increment per distinct account; 65,535 members is unreachable in practice
            // and the checked `ethicsCount += 1` below would revert rather than wrap.
            uint256 members = uint256(t.ethicsCount) + 1;
            _checkThreshold(trialId, t.ethicsThreshold, members);
            if (!_vote(trialId, t, EntryType.RoleGranted, account, 0, bytes32(0), 0)) return false;
            t.ethicsCount += 1;
            t.boardEpoch += 1;
            word |= _ETHICS_BIT;
        }
        _members[trialId][account] = word;
        _recordRoleChange(trialId, t, EntryType.RoleGranted, account, role, siteId);
        return true;
    }

    /// @inheritdoc ITrialRegistry
    function revokeRole(uint64 trialId, address account, Role role, uint32 siteId)
        external
        returns (bool revoked)
    {
        Trial storage t = _existing(trialId);
        _checkRoleChange(trialId, t, account, role, siteId);
        uint256 word = _members[trialId][account];
        if (role == Role.Investigator) {
            uint256 index = _siteIndex(word, siteId);
            if (index == type(uint256).max) revert TrialRoleUnchanged(trialId, account, role, siteId);
            word &= ~(uint256(type(uint32).max) << (8 + 32 * index));
        } else if (role == Role.Monitor) {
            if (word & _MONITOR_BIT == 0) revert TrialRoleUnchanged(trialId, account, role, siteId);
            word &= ~_MONITOR_BIT;
        } else {
            if (word & _ETHICS_BIT == 0) revert TrialRoleUnchanged(trialId, account, role, siteId);
            uint256 members = t.ethicsCount;
            uint256 threshold = t.ethicsThreshold;
            // members >= 1 here (the account is one of them).
            if (members <= threshold) revert TrialEthicsBoardBelowThreshold(trialId, members - 1, threshold);
            if (!_vote(trialId, t, EntryType.RoleRevoked, account, 0, bytes32(0), 0)) return false;
            // members > threshold >= 1 here: no underflow.
            unchecked {
                t.ethicsCount = uint16(members - 1);
            }
            t.boardEpoch += 1;
            word &= ~_ETHICS_BIT;
        }
        _members[trialId][account] = word;
        _recordRoleChange(trialId, t, EntryType.RoleRevoked, account, role, siteId);
        return true;
    }

    function _recordRoleChange(
        uint64 trialId,
        Trial storage t,
        EntryType entryType,
        address account,
        Role role,
        uint32 siteId
    ) private {
        _append(trialId, t, entryType, keccak256(abi.encode(account, role, siteId)));
        if (entryType == EntryType.RoleGranted) {
            emit TrialRoleGranted(trialId, msg.sender, uint64(block.timestamp), account, role, siteId);
        } else {
            emit TrialRoleRevoked(trialId, msg.sender, uint64(block.timestamp), account, role, siteId);
        }
    }

    /*//////////////////////////////////////////////////////////////
                               AMENDMENTS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ITrialRegistry
    function proposeAmendment(
        uint64 trialId,
        bytes32 protocolHash,
        string calldata protocolCid,
        uint16 consentVersion,
        bytes32 outcomesHash
    ) external returns (uint16 version) {
        Trial storage t = _existing(trialId);
        _onlySponsor(trialId, t);
        _onlyRunning(trialId, t);
        _nothingPending(trialId);
        if (protocolHash == bytes32(0)) revert TrialZeroHash(trialId, "protocolHash");
        if (protocolHash == t.protocolHash || consentVersion < t.consentVersion) {
            revert TrialInvalidAmendment(trialId, consentVersion, t.consentVersion);
        }
        if (outcomesHash != bytes32(0) && t.locked) revert TrialOutcomesFrozen(trialId);
        _checkCid(protocolCid);
        if (t.protocolVersion == type(uint16).max) revert TrialVersionOverflow(trialId);
        version = t.protocolVersion + 1;
        // Field by field: moveTo is already zero (checked above), so it costs no write.
        Amendment storage pending = _pending[trialId];
        pending.protocolHash = protocolHash;
        pending.outcomesHash = outcomesHash;
        pending.version = version;
        pending.consentVersion = consentVersion;
        pending.proposedSeq = t.entryCount;
        _recordProposal(trialId, t, protocolCid);
    }

    /// @dev The proposal's entry, split out of {proposeAmendment} for the stack: fields from storage.
    function _recordProposal(uint64 trialId, Trial storage t, string calldata protocolCid) private {
        Amendment storage a = _pending[trialId];
        bytes32 payloadHash =
            keccak256(abi.encode(a.version, a.protocolHash, protocolCid, a.consentVersion, a.outcomesHash));
        _append(trialId, t, EntryType.AmendmentProposed, payloadHash);
        emit AmendmentProposed(
            trialId,
            msg.sender,
            uint64(block.timestamp),
            a.version,
            a.protocolHash,
            protocolCid,
            a.consentVersion,
            a.outcomesHash);
    }

    /// @inheritdoc ITrialRegistry
    function approveAmendment(uint64 trialId, uint16 version, bytes32 protocolHash)
        external
        returns (bool approved)
    {
        Trial storage t = _existing(trialId);
        _onlyEthics(trialId);
        _onlyRunning(trialId, t);
        Amendment memory a = _matchPending(trialId, version, protocolHash);
        if (a.outcomesHash != bytes32(0) && t.locked) revert TrialOutcomesFrozen(trialId);
        if (!_vote(trialId, t, EntryType.AmendmentApproved, address(0), version, protocolHash, a.proposedSeq)) {
            return false;
        }
        if (a.outcomesHash != bytes32(0)) t.amendedOutcomesHash = a.outcomesHash;
        t.protocolVersion = a.version;
        t.consentVersion = a.consentVersion;
        t.protocolHash = a.protocolHash;
        delete _pending[trialId];
        uint64 seq = _append(trialId, t, EntryType.AmendmentApproved, keccak256(abi.encode(version, protocolHash)));
        emit AmendmentApproved(trialId, msg.sender, uint64(block.timestamp), version, protocolHash);
        if (a.outcomesHash != bytes32(0)) {
            bytes32 registered = t.outcomesHash;
            if (a.outcomesHash != registered) emit OutcomesAmendedFlagged(trialId, seq, registered, a.outcomesHash);
        }
        return true;
    }

    /// @inheritdoc ITrialRegistry
    function rejectAmendment(uint64 trialId, uint16 version, bytes32 protocolHash, bytes32 reasonCommitment)
        external
    {
        Trial storage t = _existing(trialId);
        _onlyEthics(trialId);
        _onlyRunning(trialId, t);
        _matchPending(trialId, version, protocolHash);
        delete _pending[trialId];
        bytes32 payloadHash = keccak256(abi.encode(version, protocolHash, reasonCommitment));
        _append(trialId, t, EntryType.AmendmentRejected, payloadHash);
        emit AmendmentRejected(
            trialId, msg.sender, uint64(block.timestamp), version, protocolHash, reasonCommitment);
    }

    /// @inheritdoc ITrialRegistry
    function withdrawAmendment(uint64 trialId, uint16 version, bytes32 protocolHash) external {
        Trial storage t = _existing(trialId);
        _onlySponsor(trialId, t);
        _onlyRunning(trialId, t);
        _matchPending(trialId, version, protocolHash);
        delete _pending[trialId];
        _append(trialId, t, EntryType.AmendmentWithdrawn, keccak256(abi.encode(version, protocolHash)));
        emit AmendmentWithdrawn(trialId, msg.sender, uint64(block.timestamp), version, protocolHash);
    }

    /*//////////////////////////////////////////////////////////////
                               OVERSIGHT
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ITrialRegistry
    function suspend(uint64 trialId, bytes32 reasonCommitment) external {
        _changeStatus(trialId, Status.Active, Status.Suspended, EntryType.Suspended, reasonCommitment);
    }

    /// @inheritdoc ITrialRegistry
    function resume(uint64 trialId, bytes32 reasonCommitment) external {
        _changeStatus(trialId, Status.Suspended, Status.Active, EntryType.Resumed, reasonCommitment);
    }

    /// @inheritdoc ITrialRegistry
    function terminate(uint64 trialId, bytes32 reasonCommitment) external {
        Trial storage t = _existing(trialId);
        Status from = t.status == Status.Suspended ? Status.Suspended : Status.Active;
        _changeStatus(trialId, from, Status.Terminated, EntryType.Terminated, reasonCommitment);
    }

    /*//////////////////////////////////////////////////////////////
                              SITE ENTRIES
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ITrialRegistry
    function enroll(uint64 trialId, bytes32 subjectCommitment, uint32 siteId, uint16 consentVersion) external {
        Trial storage t = _existing(trialId);
        Status status = t.status;
        if (status != Status.Active) {
            if (status == Status.Suspended) revert TrialSuspended(trialId);
            _revertInactive(trialId, status);
        }
        if (t.locked) revert TrialDataLockState(trialId, true);
        if (t.eligibilityGated) revert TrialEligibilityProofRequired(trialId);
        _consented(trialId, t, EntryType.Enrolled, subjectCommitment, siteId, consentVersion);
    }

    /// @inheritdoc ITrialRegistry
    function enrollEligible(
        uint64 trialId,
        bytes32 subjectCommitment,
        uint32 siteId,
        uint16 consentVersion,
        EligibilityProof calldata proof
    ) external {
        Trial storage t = _existing(trialId);
        Status status = t.status;
        if (status != Status.Active) {
            if (status == Status.Suspended) revert TrialSuspended(trialId);
            _revertInactive(trialId, status);
        }
        if (t.locked) revert TrialDataLockState(trialId, true);
        if (!t.eligibilityGated) revert TrialEligibilityNotRequired(trialId);
        // The entry's payload is the three words after trialId, as in {enroll}.
        _consented(trialId, t, EntryType.Enrolled, subjectCommitment, siteId, consentVersion);
        Eligibility storage e = _eligibility[trialId];
        // The gate is the one the sponsor named in the log; a refusal reverts the entry too.
        IEligibilityGate(e.gate).verifyEligibility(
            e.issuer,
            e.criteriaHash,
            trialId,
            proof.root,
            proof.nullifier,
            proof.today,
            IEligibilityGate.Proof(proof.a, proof.b, proof.c)
        );
    }

    /// @inheritdoc ITrialRegistry
    function requireEligibility(uint64 trialId, address gate, address issuer, uint256 criteriaHash) external {
        Trial storage t = _existing(trialId);
        _onlySponsor(trialId, t);
        _onlyRunning(trialId, t);
        if (t.eligibilityGated) revert TrialEligibilityAlreadyRequired(trialId);
        if (gate == address(0)) revert TrialZeroAddress("gate");
        if (issuer == address(0)) revert TrialZeroAddress("issuer");
        if (criteriaHash == 0) revert TrialZeroHash(trialId, "criteriaHash");
        t.eligibilityGated = true;
        _eligibility[trialId] = Eligibility(gate, issuer, criteriaHash);
        _append(trialId, t, EntryType.EligibilityRequired, keccak256(abi.encode(gate, issuer, criteriaHash)));
        emit EligibilityRequired(trialId, msg.sender, uint64(block.timestamp), gate, issuer, criteriaHash);
    }

    /// @inheritdoc ITrialRegistry
    function eligibility(uint64 trialId) external view returns (address gate, address issuer, uint256 criteriaHash) {
        Eligibility storage e = _eligibility[trialId];
        return (e.gate, e.issuer, e.criteriaHash);
    }

    /// @inheritdoc ITrialRegistry
    function reconsent(uint64 trialId, bytes32 subjectCommitment, uint32 siteId, uint16 consentVersion)
        external
    {
        Trial storage t = _running(trialId);
        _consented(trialId, t, EntryType.Reconsented, subjectCommitment, siteId, consentVersion);
    }

    /// @inheritdoc ITrialRegistry
    function withdrawSubject(uint64 trialId, bytes32 subjectCommitment, uint32 siteId, bytes32 reasonCommitment)
        external
    {
        Trial storage t = _running(trialId);
        _onlyInvestigator(trialId, siteId);
        if (subjectCommitment == bytes32(0)) revert TrialZeroHash(trialId, "subjectCommitment");
        _appendFromCalldata(trialId, t, EntryType.Withdrawn, SubjectWithdrawn.selector, 3);
    }

    /// @inheritdoc ITrialRegistry
    function logDeviation(
        uint64 trialId,
        uint32 siteId,
        bytes32 subjectCommitment,
        bool important,
        bytes32 descriptionCommitment
    ) external {
        Trial storage t = _running(trialId);
        _onlySiteStaff(trialId, siteId);
        if (descriptionCommitment == bytes32(0)) revert TrialZeroHash(trialId, "descriptionCommitment");
        _appendFromCalldata(trialId, t, EntryType.DeviationLogged, DeviationLogged.selector, 4);
    }

    /// @inheritdoc ITrialRegistry
    function logAdverseEvent(
        uint64 trialId,
        uint32 siteId,
        bytes32 subjectCommitment,
        uint8 severity,
        bytes32 reportCommitment
    ) external {
        Trial storage t = _running(trialId);
        _onlySiteStaff(trialId, siteId);
        if (subjectCommitment == bytes32(0)) revert TrialZeroHash(trialId, "subjectCommitment");
        if (reportCommitment == bytes32(0)) revert TrialZeroHash(trialId, "reportCommitment");
        uint8 grade = severity & ~SERIOUS_FLAG;
        if (grade == 0 || grade > 5) revert TrialInvalidSeverity(severity);
        _appendFromCalldata(trialId, t, EntryType.AdverseEventLogged, AdverseEventLogged.selector, 4);
    }

    /*//////////////////////////////////////////////////////////////
                            SPONSOR RESULTS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ITrialRegistry
    function lockData(uint64 trialId, bytes32 datasetHash, string calldata datasetCid) external {
        Trial storage t = _existing(trialId);
        _onlySponsor(trialId, t);
        _onlyRunning(trialId, t);
        if (t.locked) revert TrialDataLockState(trialId, true);
        if (datasetHash == bytes32(0)) revert TrialZeroHash(trialId, "datasetHash");
        _checkCid(datasetCid);
        t.locked = true;
        _append(trialId, t, EntryType.DataLocked, keccak256(abi.encode(datasetHash, datasetCid)));
        emit DataLocked(trialId, msg.sender, uint64(block.timestamp), datasetHash, datasetCid);
    }

    /// @inheritdoc ITrialRegistry
    function reportOutcomes(
        uint64 trialId,
        bytes32 reportedOutcomesHash,
        bytes32 resultsHash,
        string calldata resultsCid
    ) external returns (bool matchesRegistered) {
        Trial storage t = _existing(trialId);
        _onlySponsor(trialId, t);
        _onlyRunning(trialId, t);
        if (!t.locked) revert TrialDataLockState(trialId, false);
        if (reportedOutcomesHash == bytes32(0)) revert TrialZeroHash(trialId, "reportedOutcomesHash");
        if (resultsHash == bytes32(0)) revert TrialZeroHash(trialId, "resultsHash");
        _checkCid(resultsCid);
        matchesRegistered = reportedOutcomesHash == t.outcomesHash;
        // Checked arithmetic: 2^32 reports per trial would revert, never wrap.
        t.outcomeReports += 1;
        if (!matchesRegistered) t.outcomeMismatches += 1;
        _recordOutcomes(trialId, t, reportedOutcomesHash, resultsHash, resultsCid);
    }

    /// @dev The report's entry (and flag), split out of {reportOutcomes} for the stack.
    function _recordOutcomes(
        uint64 trialId,
        Trial storage t,
        bytes32 reported,
        bytes32 resultsHash,
        string calldata resultsCid
    ) private {
        bytes32 registered = t.outcomesHash;
        bool matches = reported == registered;
        bytes32 payloadHash = keccak256(abi.encode(reported, registered, matches, resultsHash, resultsCid));
        uint64 seq = _append(trialId, t, EntryType.OutcomesReported, payloadHash);
        emit OutcomesReported(
            trialId, msg.sender, uint64(block.timestamp), reported, registered, matches, resultsHash, resultsCid);
        if (!matches) emit OutcomeMismatchFlagged(trialId, seq, registered, reported);
    }

    /// @inheritdoc ITrialRegistry
    function fileFinalReport(uint64 trialId, bytes32 reportHash, string calldata reportCid) external {
        Trial storage t = _existing(trialId);
        _onlySponsor(trialId, t);
        Status status = t.status;
        if (status != Status.Terminated) {
            _onlyRunning(trialId, t);
            if (!t.locked) revert TrialDataLockState(trialId, false);
        }
        if (reportHash == bytes32(0)) revert TrialZeroHash(trialId, "reportHash");
        _checkCid(reportCid);
        t.status = Status.Closed;
        _append(trialId, t, EntryType.FinalReportFiled, keccak256(abi.encode(reportHash, reportCid)));
        emit FinalReportFiled(trialId, msg.sender, uint64(block.timestamp), reportHash, reportCid);
    }

    /*//////////////////////////////////////////////////////////////
                               MIGRATION
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ITrialRegistry
    function proposeMove(uint64 trialId, address successor) external {
        Trial storage t = _existing(trialId);
        _onlySponsor(trialId, t);
        _onlyRunning(trialId, t);
        _nothingPending(trialId);
        Amendment storage pending = _pending[trialId];
        // A successor that could not import the trial would strand it: it must name this
        // registry as its predecessor (an EOA or a contract without the getter fails the call).
        if (successor == address(0) || successor == address(this) || successor.code.length == 0) {
            revert TrialInvalidSuccessor(trialId, successor);
        }
        try ITrialRegistry(successor).predecessor() returns (address p) {
            if (p != address(this)) revert TrialInvalidSuccessor(trialId, successor);
        } catch {
            revert TrialInvalidSuccessor(trialId, successor);
        }
        pending.proposedSeq = uint48(t.entryCount);
        pending.moveTo = successor;
        _append(trialId, t, EntryType.MoveProposed, keccak256(abi.encode(successor)));
        emit TrialMoveProposed(trialId, msg.sender, uint64(block.timestamp), successor);
    }

    /// @inheritdoc ITrialRegistry
    function approveMove(uint64 trialId, address successor) external returns (bool moved) {
        Trial storage t = _existing(trialId);
        _onlyEthics(trialId);
        _onlyRunning(trialId, t);
        Amendment storage pending = _pending[trialId];
        if (successor == address(0) || pending.moveTo != successor) revert TrialNoSuchMove(trialId, successor);
        // The motion names the successor and the proposal's seq: a withdrawn and re-proposed move
        // (or a board change) starts the count afresh.
        if (!_vote(trialId, t, EntryType.Moved, successor, 0, bytes32(0), pending.proposedSeq)) return false;
        _moved[trialId] = Move(successor, t.status);
        delete _pending[trialId];
        t.status = Status.Moved;
        _append(trialId, t, EntryType.Moved, keccak256(abi.encode(successor)));
        emit TrialMovedTo(trialId, msg.sender, uint64(block.timestamp), successor);
        return true;
    }

    /// @inheritdoc ITrialRegistry
    function withdrawMove(uint64 trialId, address successor) external {
        Trial storage t = _existing(trialId);
        _onlySponsor(trialId, t);
        _onlyRunning(trialId, t);
        if (successor == address(0) || _pending[trialId].moveTo != successor) {
            revert TrialNoSuchMove(trialId, successor);
        }
        delete _pending[trialId];
        _append(trialId, t, EntryType.MoveWithdrawn, keccak256(abi.encode(successor)));
        emit TrialMoveWithdrawn(trialId, msg.sender, uint64(block.timestamp), successor);
    }

    /// @inheritdoc ITrialRegistry
    function pendingMove(uint64 trialId) external view returns (address) {
        return _pending[trialId].moveTo;
    }

    /// @inheritdoc ITrialRegistry
    function successorOf(uint64 trialId) external view returns (address) {
        return _moved[trialId].successor;
    }

    /// @inheritdoc ITrialRegistry
    function handOver(uint64 trialId)
        external
        view
        returns (
            TrialView memory v,
            Status carriedStatus,
            address successor,
            bool eligibilityGated,
            Eligibility memory gate
        )
    {
        v = trial(trialId);
        Move storage m = _moved[trialId];
        carriedStatus = m.carriedStatus;
        successor = m.successor;
        eligibilityGated = _trials[trialId].eligibilityGated;
        gate = _eligibility[trialId];
    }

    /// @inheritdoc ITrialRegistry
    function memberWord(uint64 trialId, address account) external view returns (uint256) {
        return _members[trialId][account];
    }

    /// @inheritdoc ITrialRegistry
    /// @dev Ids are not reserved (the predecessor keeps registering while trials move one by one),
    /// so the trial gets the next id here, linked both ways; entries here hash with the new id,
    /// and the first one links to the imported head at seq `entryCount`.
    function importTrial(uint64 oldId, bytes32 registryId, address[] calldata members)
        external
        returns (uint64 trialId)
    {
        ITrialRegistry from = ITrialRegistry(predecessor);
        if (address(from) == address(0)) revert TrialNoPredecessor();
        uint64 existing = _importedAs[oldId];
        if (existing != 0) revert TrialAlreadyImported(oldId, existing);
        (TrialView memory v, Status carried, address successor, bool gated, Eligibility memory gate) =
            from.handOver(oldId);
        if (v.status != Status.Moved || successor != address(this)) revert TrialNotMovedHere(oldId, successor);
        if (from.trialIdOf(v.sponsor, registryId) != oldId) revert TrialRegistryIdMismatch(oldId, registryId);
        {
            bytes32 registryKey = keccak256(abi.encode(v.sponsor, registryId));
            uint64 taken = _idOf[registryKey];
            if (taken != 0) revert TrialAlreadyRegistered(taken, v.sponsor);
            trialId = ++_trialCount;
            _idOf[registryKey] = trialId;
        }
        _importedAs[oldId] = trialId;
        _importedFrom[trialId] = oldId;
        _copyRecord(_trials[trialId], v, carried, gated);
        if (gated) _eligibility[trialId] = gate;
        uint256 board = _copyMembers(from, oldId, trialId, members);
        if (board != v.ethicsCount) revert TrialIncompleteBoard(oldId, board, v.ethicsCount);
        emit TrialImported(trialId, address(from), oldId, v.head, v.entryCount);
    }

    function _copyRecord(Trial storage t, TrialView memory v, Status carried, bool gated) private {
        t.sponsor = v.sponsor;
        // entryCount < 2^40 in the predecessor (same packing): the cast is exact.
        t.entryCount = uint40(v.entryCount);
        t.eligibilityGated = gated;
        t.status = carried;
        t.locked = v.locked;
        t.protocolVersion = v.protocolVersion;
        t.consentVersion = v.consentVersion;
        t.head = v.head;
        t.protocolHash = v.protocolHash;
        t.outcomesHash = v.outcomesHash;
        t.registeredBlock = v.registeredBlock;
        t.ethicsCount = v.ethicsCount;
        t.outcomeReports = v.outcomeReports;
        t.outcomeMismatches = v.outcomeMismatches;
        t.ethicsThreshold = v.ethicsThreshold;
        t.boardEpoch = v.boardEpoch;
        t.amendedOutcomesHash = v.amendedOutcomesHash;
    }

    /// @dev Copies each listed account's word from the predecessor: the list only chooses whose
    /// words are read, never what they hold. Returns the ethics seats carried (each account
    /// counted once, however often listed).
    function _copyMembers(ITrialRegistry from, uint64 oldId, uint64 trialId, address[] calldata members)
        private
        returns (uint256 board)
    {
        for (uint256 i; i < members.length; ++i) {
            address account = members[i];
            if (_members[trialId][account] != 0) continue;
            uint256 word = from.memberWord(oldId, account);
            if (word == 0) continue;
            _members[trialId][account] = word;
            if (word & _ETHICS_BIT != 0) ++board;
        }
    }

    /// @inheritdoc ITrialRegistry
    function importedFrom(uint64 trialId) external view returns (uint64) {
        return _importedFrom[trialId];
    }

    /// @inheritdoc ITrialRegistry
    function importedAs(uint64 oldId) external view returns (uint64) {
        return _importedAs[oldId];
    }

    /*//////////////////////////////////////////////////////////////
                                GETTERS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ITrialRegistry
    function trialIdOf(address sponsor, bytes32 registryId) external view returns (uint64) {
        return _idOf[keccak256(abi.encode(sponsor, registryId))];
    }

    /// @inheritdoc ITrialRegistry
    function trialCount() external view returns (uint64) {
        return _trialCount;
    }

    /// @inheritdoc ITrialRegistry
    function genesisHead(uint64 trialId) public view returns (bytes32) {
        return keccak256(abi.encode(GENESIS_TAG, block.chainid, address(this), trialId));
    }

    /// @inheritdoc ITrialRegistry
    function trial(uint64 trialId) public view returns (TrialView memory v) {
        Trial storage t = _trials[trialId];
        v = TrialView(
            t.sponsor,
            t.status,
            t.locked,
            t.protocolVersion,
            t.consentVersion,
            t.entryCount,
            t.head,
            t.protocolHash,
            t.outcomesHash,
            t.registeredBlock,
            t.ethicsCount,
            t.outcomeReports,
            t.outcomeMismatches,
            t.ethicsThreshold,
            t.boardEpoch,
            t.amendedOutcomesHash
        );
    }

    /// @inheritdoc ITrialRegistry
    function ethicsVotes(
        uint64 trialId,
        EntryType motion,
        address account,
        uint16 version,
        bytes32 protocolHash,
        address member
    ) external view returns (uint256 approvals, bool voted) {
        uint48 nonce =
            motion == EntryType.AmendmentApproved || motion == EntryType.Moved ? _pending[trialId].proposedSeq : 0;
        bytes32 key = _motionKey(_trials[trialId], motion, account, version, protocolHash, nonce);
        return (_approvals[trialId][key], _voted[trialId][key][member]);
    }

    /// @inheritdoc ITrialRegistry
    function chainHead(uint64 trialId) external view returns (bytes32 head, uint64 entryCount) {
        Trial storage t = _trials[trialId];
        return (t.head, t.entryCount);
    }

    /// @inheritdoc ITrialRegistry
    function pendingAmendment(uint64 trialId)
        external
        view
        returns (uint16 version, bytes32 protocolHash, uint16 consentVersion, bytes32 outcomesHash)
    {
        Amendment storage a = _pending[trialId];
        return (a.version, a.protocolHash, a.consentVersion, a.outcomesHash);
    }

    /// @inheritdoc ITrialRegistry
    function hasRole(uint64 trialId, address account, Role role, uint32 siteId) external view returns (bool) {
        uint256 word = _members[trialId][account];
        if (role == Role.Investigator) return siteId != 0 && _siteIndex(word, siteId) != type(uint256).max;
        if (role == Role.Monitor) return word & _MONITOR_BIT != 0;
        if (role == Role.Ethics) return word & _ETHICS_BIT != 0;
        return false;
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    /// @dev Extends the chain by one entry: the only per-entry storage writes (head, count).
    function _append(uint64 trialId, Trial storage t, EntryType entryType, bytes32 payloadHash)
        private
        returns (uint64 seq)
    {
        seq = t.entryCount;
        bytes32 previous = t.head;
        bytes32 head;
        // Hashes the abi.encode of static words in scratch memory past the free pointer, which is
        // never bumped and never read back: the same bytes abi.encode would produce, without allocating.
        /// @solidity memory-safe-assembly
        assembly {
            let m := mload(0x40)
            mstore(m, trialId)
            mstore(add(m, 0x20), seq)
            mstore(add(m, 0x40), entryType)
            mstore(add(m, 0x60), caller())
            mstore(add(m, 0x80), timestamp())
            mstore(add(m, 0xa0), payloadHash)
            let entryHash := keccak256(m, 0xc0)
            mstore(m, previous)
            mstore(add(m, 0x20), entryHash)
            head := keccak256(m, 0x40)
        }
        t.head = head;
        // seq < 2^40: one entry per transaction cannot reach 2^40 - 1 in any chain's lifetime.
        unchecked {
            t.entryCount = uint40(seq + 1);
        }
    }

    /// @dev One ethics member's vote on a k-of-n decision. Returns true when this vote reaches the
    /// threshold (the caller then carries the decision out and writes its entry; the vote itself
    /// is not stored, as the decision moves the epoch or clears the proposal); otherwise stores it
    /// and writes an {EthicsVoteCast} entry.
    function _vote(
        uint64 trialId,
        Trial storage t,
        EntryType motion,
        address account,
        uint16 version,
        bytes32 protocolHash,
        uint48 nonce
    ) private returns (bool passed) {
        uint256 threshold = t.ethicsThreshold;
        // A board of one decides alone: nothing to count (it never has stored votes).
        if (threshold == 1) return true;
        bytes32 key = _motionKey(t, motion, account, version, protocolHash, nonce);
        if (_voted[trialId][key][msg.sender]) revert TrialEthicsVoteRepeated(trialId, msg.sender, motion);
        uint256 approvals = _approvals[trialId][key] + 1;
        if (approvals >= threshold) return true;
        _voted[trialId][key][msg.sender] = true;
        _approvals[trialId][key] = approvals;
        _append(
            trialId,
            t,
            EntryType.EthicsVoteCast,
            keccak256(abi.encode(motion, account, version, protocolHash, approvals))
        );
        // approvals < threshold <= type(uint16).max: the cast is exact.
        emit EthicsVoteCast(
            trialId, msg.sender, uint64(block.timestamp), motion, account, version, protocolHash, uint16(approvals)
        );
        return false;
    }

    function _motionKey(
        Trial storage t,
        EntryType motion,
        address account,
        uint16 version,
        bytes32 protocolHash,
        uint48 nonce
    ) private view returns (bytes32) {
        return keccak256(abi.encode(motion, t.boardEpoch, nonce, account, version, protocolHash));
    }

    /// @dev A k-of-n board: 1 <= k <= n, and k >= 2 unless the board is a single member.
    function _checkThreshold(uint64 trialId, uint256 threshold, uint256 members) private pure {
        if (threshold == 0 || threshold > members || (threshold == 1 && members > 1)) {
            revert TrialInvalidEthicsThreshold(trialId, threshold, members);
        }
    }

    function _consented(
        uint64 trialId,
        Trial storage t,
        EntryType entryType,
        bytes32 subjectCommitment,
        uint32 siteId,
        uint16 consentVersion
    ) private {
        _onlyInvestigator(trialId, siteId);
        if (subjectCommitment == bytes32(0)) revert TrialZeroHash(trialId, "subjectCommitment");
        uint16 current = t.consentVersion;
        if (consentVersion != current) revert TrialStaleConsentVersion(trialId, consentVersion, current);
        bytes32 topic = entryType == EntryType.Enrolled ? SubjectEnrolled.selector : SubjectReconsented.selector;
        _appendFromCalldata(trialId, t, entryType, topic, 3);
    }

    function _changeStatus(uint64 trialId, Status from, Status to, EntryType entryType, bytes32 reasonCommitment)
        private
    {
        Trial storage t = _existing(trialId);
        _onlyEthics(trialId);
        if (t.status != from) _revertInactive(trialId, t.status);
        t.status = to;
        _append(trialId, t, entryType, keccak256(abi.encode(to, reasonCommitment)));
        emit TrialStatusChanged(trialId, msg.sender, uint64(block.timestamp), entryType, to, reasonCommitment);
    }

    function _checkRoleChange(uint64 trialId, Trial storage t, address account, Role role, uint32 siteId)
        private
        view
    {
        if (role == Role.Ethics) _onlyEthics(trialId);
        else if (role == Role.Investigator || role == Role.Monitor) _onlySponsor(trialId, t);
        else revert TrialRoleUnchanged(trialId, account, role, siteId);
        _onlyRunning(trialId, t);
        if (account == address(0)) revert TrialZeroAddress("account");
        if ((role == Role.Investigator) != (siteId != 0)) revert TrialInvalidSite(trialId, role, siteId);
    }

    /// @dev Refuses while an amendment or a move is pending: both live in slot 2 of the record
    /// (version | consentVersion | proposedSeq | moveTo), zero when nothing is pending, so one
    /// storage read answers.
    function _nothingPending(uint64 trialId) private view {
        Amendment storage pending = _pending[trialId];
        uint256 word;
        /// @solidity memory-safe-assembly
        assembly {
            word := sload(add(pending.slot, 2))
        }
        if (word != 0) {
            if (pending.version != 0) revert TrialAmendmentPending(trialId, pending.version);
            revert TrialMovePending(trialId, pending.moveTo);
        }
    }

    function _matchPending(uint64 trialId, uint16 version, bytes32 protocolHash)
        private
        view
        returns (Amendment memory a)
    {
        // Field by field: the amendment's fields only (moveTo is zero whenever an amendment is pending).
        Amendment storage p = _pending[trialId];
        a.protocolHash = p.protocolHash;
        a.outcomesHash = p.outcomesHash;
        a.version = p.version;
        a.consentVersion = p.consentVersion;
        a.proposedSeq = p.proposedSeq;
        if (a.version == 0 || a.version != version || a.protocolHash != protocolHash) {
            revert TrialNoSuchAmendment(trialId, version, protocolHash);
        }
    }

    /// @dev The trial, which must be active or suspended (one status read).
    function _running(uint64 trialId) private view returns (Trial storage t) {
        t = _trials[trialId];
        Status status = t.status;
        if (status != Status.Active && status != Status.Suspended) {
            if (status == Status.None) revert TrialNotFound(trialId);
            _revertInactive(trialId, status);
        }
    }

    function _existing(uint64 trialId) private view returns (Trial storage t) {
        t = _trials[trialId];
        if (t.status == Status.None) revert TrialNotFound(trialId);
    }

    function _onlySponsor(uint64 trialId, Trial storage t) private view {
        if (t.sponsor != msg.sender) revert TrialNotSponsor(trialId, msg.sender);
    }

    function _onlyEthics(uint64 trialId) private view {
        if (_members[trialId][msg.sender] & _ETHICS_BIT == 0) revert TrialNotEthicsBoard(trialId, msg.sender);
    }

    function _onlySiteStaff(uint64 trialId, uint32 siteId) private view {
        uint256 word = _members[trialId][msg.sender];
        // Monitor bit first: a failed seven-slot site scan would cost monitors ~600 gas.
        if (siteId != 0 && (word & _MONITOR_BIT != 0 || _siteIndex(word, siteId) != type(uint256).max)) return;
        revert TrialNotSiteStaff(trialId, siteId, msg.sender);
    }

    /// @dev Active or suspended: the states in which the trial is still being conducted.
    function _onlyRunning(uint64 trialId, Trial storage t) private view {
        Status status = t.status;
        if (status != Status.Active && status != Status.Suspended) _revertInactive(trialId, status);
    }

    /// @dev The refusal of a write to a trial that is not running: a moved trial names its
    /// successor. Only on the failure path, so no entry pays for the successor's slot.
    function _revertInactive(uint64 trialId, Status status) private view {
        if (status == Status.Moved) revert TrialMoved(trialId, _moved[trialId].successor);
        revert TrialNotActive(trialId, status);
    }

    function _checkCid(string calldata cid) private pure {
        uint256 length = bytes(cid).length;
        if (length == 0 || length > MAX_CID_LENGTH) revert TrialInvalidCid(length, MAX_CID_LENGTH);
    }

    function _onlyInvestigator(uint64 trialId, uint32 siteId) private view {
        if (siteId == 0 || _siteIndex(_members[trialId][msg.sender], siteId) == type(uint256).max) {
            revert TrialNotSiteStaff(trialId, siteId, msg.sender);
        }
    }

    /// @dev Index (0..6) of `siteId` among the member word's site slots, or type(uint256).max.
    /// With siteId 0 it finds a free slot. Bounded: seven slots.
    function _siteIndex(uint256 word, uint32 siteId) private pure returns (uint256 index) {
        index = type(uint256).max;
        // Pure arithmetic on a stack word, seven iterations at most.
        /// @solidity memory-safe-assembly
        assembly {
            let w := shr(8, word)
            for { let i := 0 } lt(i, 7) { i := add(i, 1) } {
                if eq(and(w, 0xffffffff), siteId) {
                    index := i
                    break
                }
                w := shr(32, w)
            }
        }
    }

    /// @dev {_append} for an entry whose payload is the call's arguments after `trialId`, all
    /// static and in payload order (validated by the ABI decoder before the body runs). The
    /// event data (author, timestamp, payload) is built once in memory, hashed and logged.
    function _appendFromCalldata(uint64 trialId, Trial storage t, EntryType entryType, bytes32 topic, uint256 words)
        private
    {
        uint64 seq = t.entryCount;
        bytes32 previous = t.head;
        bytes32 head;
        uint256 m;
        // Memory from the free pointer on, never bumped: used for the hashes and the log below
        // and by nothing else in this call.
        /// @solidity memory-safe-assembly
        assembly {
            m := mload(0x40)
            let payloadLength := shl(5, words)
            mstore(m, caller())
            mstore(add(m, 0x20), timestamp())
            calldatacopy(add(m, 0x40), 0x24, payloadLength)
            let payloadHash := keccak256(add(m, 0x40), payloadLength)
            let h := add(add(m, 0x40), payloadLength)
            mstore(h, trialId)
            mstore(add(h, 0x20), seq)
            mstore(add(h, 0x40), entryType)
            mstore(add(h, 0x60), caller())
            mstore(add(h, 0x80), timestamp())
            mstore(add(h, 0xa0), payloadHash)
            mstore(add(h, 0x20), keccak256(h, 0xc0))
            mstore(h, previous)
            head := keccak256(h, 0x40)
        }
        t.head = head;
        // seq < 2^40: one entry per transaction cannot reach 2^40 - 1 in any chain's lifetime.
        unchecked {
            t.entryCount = uint40(seq + 1);
        }
        // The entry's event, right after the state write, from the memory built above.
        /// @solidity memory-safe-assembly
        assembly {
            log2(m, add(0x40, shl(5, words)), topic, trialId)
        }
    }
}
