// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title ITrialRegistry
/// @notice Types, errors and events of the clinical-trial registry: registered protocols,
/// ethics-approved amendments and a tamper-evident hash-chained timeline per trial.
/// @dev Every timeline entry extends the trial's chain:
///   payloadHash = keccak256(abi.encode(<the entry's payload fields, in event order>))
///   entryHash   = keccak256(abi.encode(trialId, seq, uint8(entryType), author, timestamp, payloadHash))
///   head_seq    = keccak256(abi.encode(head_{seq-1}, entryHash))
/// with head_{-1} = keccak256(abi.encode(GENESIS_TAG, block.chainid, registry address, trialId)),
/// so a log is bound to one deployment. Each entry's event carries author, timestamp and every
/// payload field, and its seq is its position among the trial's entry events in chain order: the
/// chain can be recomputed from events alone and compared with {chainHead}.
/// Trial ids are sequential from 1.
/// Free-text fields (deviation descriptions, adverse-event reports, reasons) are salted
/// commitments computed off chain (`medchain.trials.note_commitment`): the text and its 32-byte
/// salt stay with the site and are disclosed beside an exported log, never on chain.
/// The ethics board decides membership changes and amendment approvals k-of-n: `threshold`
/// members must vote, each vote a timeline entry; any membership change starts every open vote
/// afresh (votes are bound to the board's epoch).
interface ITrialRegistry {
    /*//////////////////////////////////////////////////////////////
                                 TYPES
    //////////////////////////////////////////////////////////////*/

    /// @notice Life-cycle of a trial, driven by the ethics board (and the sponsor's final report).
    enum Status {
        None, // not registered
        Active,
        Suspended, // no enrollments; safety reporting continues
        Terminated, // nothing but the sponsor's final report
        Closed // final report filed: the log is complete
    }

    /// @notice Timeline entry types (SPIRIT items for protocol events, CONSORT flow and
    /// harms items for conduct and results). Values are committed into entry hashes: append only.
    enum EntryType {
        Registered, // SPIRIT 1-2: trial registration, protocol, outcomes (SPIRIT 12)
        RoleGranted, // SPIRIT 5: roles and responsibilities
        RoleRevoked,
        AmendmentProposed, // SPIRIT 25: protocol amendments
        AmendmentApproved, // SPIRIT 24: research ethics approval
        AmendmentRejected,
        AmendmentWithdrawn,
        Suspended, // SPIRIT 21b: interim analyses and stopping
        Resumed,
        Terminated,
        Enrolled, // CONSORT 13a / SPIRIT 26a: enrolment with informed consent
        Reconsented, // SPIRIT 26a after an amendment changed the consent form
        Withdrawn, // CONSORT 13b: losses and exclusions
        DeviationLogged, // ICH E3 important protocol deviations
        AdverseEventLogged, // CONSORT 19 / SPIRIT 22: harms
        DataLocked, // database lock before analysis
        OutcomesReported, // CONSORT 6a/6b/17a: outcomes, changes to outcomes
        FinalReportFiled,
        EthicsVoteCast, // one ethics-board member's vote on a k-of-n decision, short of the threshold
        EligibilityRequired // enrollments must prove eligibility in zero knowledge (docs/zk.md)
    }

    /// @notice Per-trial roles other than the sponsor (kept in the trial record).
    enum Role {
        None,
        Investigator, // bound to one site id
        Monitor,
        Ethics
    }

    /// @notice What a gated trial's gate checks: the credential issuer and the criteria hash.
    struct Eligibility {
        address gate;
        address issuer;
        uint256 criteriaHash;
    }

    /// @notice A zero-knowledge eligibility proof as {enrollEligible} takes it: the public
    /// signals the caller states (the gate derives the scope and takes the criteria from the
    /// trial) and the Groth16 proof (snarkjs's Solidity calldata order).
    struct EligibilityProof {
        uint256 root;
        uint256 nullifier;
        uint256 today;
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
    }

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice No trial is registered under `trialId`.
    error TrialNotFound(uint64 trialId);
    /// @notice `sponsor` already registered a trial under this external registry id.
    error TrialAlreadyRegistered(uint64 trialId, address sponsor);
    /// @notice A required hash (protocol, outcomes, commitment, dataset) is zero.
    error TrialZeroHash(uint64 trialId, string field);
    /// @notice A required address is zero.
    error TrialZeroAddress(string field);
    /// @notice A CID string is empty or longer than `maxLength` bytes.
    error TrialInvalidCid(uint256 length, uint256 maxLength);
    /// @notice Registration needs at least one and at most `max` ethics-board members.
    error TrialInvalidEthicsBoard(uint256 count, uint256 max);
    /// @notice `account` is not the sponsor of `trialId`.
    error TrialNotSponsor(uint64 trialId, address account);
    /// @notice `account` is not on the ethics board of `trialId`.
    error TrialNotEthicsBoard(uint64 trialId, address account);
    /// @notice `account` may not log this entry type for `siteId` (not its investigator, not a monitor).
    error TrialNotSiteStaff(uint64 trialId, uint32 siteId, address account);
    /// @notice The role change asked for is already in place (grant twice / revoke absent).
    error TrialRoleUnchanged(uint64 trialId, address account, Role role, uint32 siteId);
    /// @notice Investigators need a site id > 0; other roles take site id 0.
    error TrialInvalidSite(uint64 trialId, Role role, uint32 siteId);
    /// @notice `account` already investigates `max` sites in this trial.
    error TrialTooManySites(uint64 trialId, address account, uint256 max);
    /// @notice The sponsor cannot sit on its own trial's ethics board (it would approve its own amendments).
    error TrialSponsorOnEthicsBoard(uint64 trialId, address sponsor);
    /// @notice Removing a member would leave the board with fewer than `threshold` members.
    error TrialEthicsBoardBelowThreshold(uint64 trialId, uint256 members, uint256 threshold);
    /// @notice A board's vote threshold must be 1..members, and at least 2 when the board has
    /// more than one member (no single member decides for a board).
    error TrialInvalidEthicsThreshold(uint64 trialId, uint256 threshold, uint256 members);
    /// @notice `member` already voted for this decision (`motion` is the entry it would produce).
    error TrialEthicsVoteRepeated(uint64 trialId, address member, EntryType motion);
    /// @notice The sponsor cannot hold a site role (investigator, monitor) in its own trial.
    error TrialSponsorInSiteRole(uint64 trialId, address sponsor, Role role);
    /// @notice The trial's status forbids this action (`status` is the current one).
    error TrialNotActive(uint64 trialId, Status status);
    /// @notice Enrollment refused: the ethics board has suspended the trial.
    error TrialSuspended(uint64 trialId);
    /// @notice Refused because the database is locked (`true`) or not yet locked (`false`).
    error TrialDataLockState(uint64 trialId, bool locked);
    /// @notice The consent form version signed is not the one in force.
    error TrialStaleConsentVersion(uint64 trialId, uint16 given, uint16 current);
    /// @notice An amendment is already waiting for the ethics board.
    error TrialAmendmentPending(uint64 trialId, uint16 version);
    /// @notice No pending amendment matches `version` and `protocolHash`.
    error TrialNoSuchAmendment(uint64 trialId, uint16 version, bytes32 protocolHash);
    /// @notice An amendment must change something and may not lower the consent form version.
    error TrialInvalidAmendment(uint64 trialId, uint16 consentVersion, uint16 currentConsentVersion);
    /// @notice Pre-specified outcomes cannot change after data lock (that is outcome switching).
    error TrialOutcomesFrozen(uint64 trialId);
    /// @notice Adverse-event severity whose grade (low 7 bits) is outside CTCAE 1..5.
    error TrialInvalidSeverity(uint8 severity);
    /// @notice A version counter would overflow.
    error TrialVersionOverflow(uint64 trialId);
    /// @notice The trial demands a zero-knowledge eligibility proof: use {enrollEligible}.
    error TrialEligibilityProofRequired(uint64 trialId);
    /// @notice The trial demands no eligibility proof: use {enroll}.
    error TrialEligibilityNotRequired(uint64 trialId);
    /// @notice The trial already demands eligibility (set once, never changed).
    error TrialEligibilityAlreadyRequired(uint64 trialId);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/
    // Every event below but the two *Flagged events is one timeline entry: (author, timestamp,
    // payload...). An entry's seq is its position among the trial's entry events in chain order
    // (block, log index); seq and the head after each entry are committed in the chain, not emitted.

    /// @notice A trial was registered (entry 0). Payload: registryId, protocolHash,
    /// protocolCid, outcomesHash, consentVersion, ethicsThreshold. The ethics board's
    /// appointment follows as {TrialRoleGranted} entries 1..n.
    event TrialRegistered(
        uint64 indexed trialId,
        address author,
        uint64 timestamp,
        bytes32 registryId,
        bytes32 protocolHash,
        string protocolCid,
        bytes32 outcomesHash,
        uint16 consentVersion,
        uint16 ethicsThreshold
    );

    /// @notice A role was granted. Payload: account, role, siteId (0 unless Investigator).
    event TrialRoleGranted(
        uint64 indexed trialId,
        address author,
        uint64 timestamp,
        address account,
        Role role,
        uint32 siteId
    );

    /// @notice A role was revoked. Payload: account, role, siteId.
    event TrialRoleRevoked(
        uint64 indexed trialId,
        address author,
        uint64 timestamp,
        address account,
        Role role,
        uint32 siteId
    );

    /// @notice The sponsor proposed protocol version `version`. Payload: version,
    /// protocolHash, protocolCid, consentVersion, outcomesHash (zero: unchanged).
    event AmendmentProposed(
        uint64 indexed trialId,
        address author,
        uint64 timestamp,
        uint16 version,
        bytes32 protocolHash,
        string protocolCid,
        uint16 consentVersion,
        bytes32 outcomesHash
    );

    /// @notice The ethics board approved amendment `version`; it is now in force.
    /// Payload: version, protocolHash.
    event AmendmentApproved(
        uint64 indexed trialId,
        address author,
        uint64 timestamp,
        uint16 version,
        bytes32 protocolHash
    );

    /// @notice The ethics board rejected amendment `version`. Payload: version, protocolHash, reasonCommitment.
    event AmendmentRejected(
        uint64 indexed trialId,
        address author,
        uint64 timestamp,
        uint16 version,
        bytes32 protocolHash,
        bytes32 reasonCommitment
    );

    /// @notice The sponsor withdrew pending amendment `version`. Payload: version, protocolHash.
    event AmendmentWithdrawn(
        uint64 indexed trialId,
        address author,
        uint64 timestamp,
        uint16 version,
        bytes32 protocolHash
    );

    /// @notice The ethics board suspended, resumed or terminated the trial (`entryType` says
    /// which). Payload: status (the new one), reasonCommitment.
    event TrialStatusChanged(
        uint64 indexed trialId,
        address author,
        uint64 timestamp,
        EntryType entryType,
        Status status,
        bytes32 reasonCommitment
    );

    /// @notice A subject was enrolled at `siteId`. Payload: subjectCommitment, siteId, consentVersion.
    event SubjectEnrolled(
        uint64 indexed trialId,
        address author,
        uint64 timestamp,
        bytes32 subjectCommitment,
        uint32 siteId,
        uint16 consentVersion
    );

    /// @notice An enrolled subject signed the consent form of an approved amendment (re-consent).
    /// Payload: subjectCommitment, siteId, consentVersion.
    event SubjectReconsented(
        uint64 indexed trialId,
        address author,
        uint64 timestamp,
        bytes32 subjectCommitment,
        uint32 siteId,
        uint16 consentVersion
    );

    /// @notice A subject left the trial. Payload: subjectCommitment, siteId, reasonCommitment.
    event SubjectWithdrawn(
        uint64 indexed trialId,
        address author,
        uint64 timestamp,
        bytes32 subjectCommitment,
        uint32 siteId,
        bytes32 reasonCommitment
    );

    /// @notice A protocol deviation was logged. Payload: siteId, subjectCommitment
    /// (zero for site-level), important, descriptionCommitment (salted, see the contract notes).
    event DeviationLogged(
        uint64 indexed trialId,
        address author,
        uint64 timestamp,
        uint32 siteId,
        bytes32 subjectCommitment,
        bool important,
        bytes32 descriptionCommitment
    );

    /// @notice An adverse event was logged. Payload: siteId, subjectCommitment, severity
    /// (CTCAE grade 1..5, | 0x80 when serious), reportCommitment (salted).
    event AdverseEventLogged(
        uint64 indexed trialId,
        address author,
        uint64 timestamp,
        uint32 siteId,
        bytes32 subjectCommitment,
        uint8 severity,
        bytes32 reportCommitment
    );

    /// @notice The database was locked. Payload: datasetHash, datasetCid.
    event DataLocked(
        uint64 indexed trialId,
        address author,
        uint64 timestamp,
        bytes32 datasetHash,
        string datasetCid
    );

    /// @notice Outcomes were reported. Payload: reportedOutcomesHash, registeredOutcomesHash,
    /// matchesRegistered, resultsHash, resultsCid.
    event OutcomesReported(
        uint64 indexed trialId,
        address author,
        uint64 timestamp,
        bytes32 reportedOutcomesHash,
        bytes32 registeredOutcomesHash,
        bool matchesRegistered,
        bytes32 resultsHash,
        string resultsCid
    );

    /// @notice An ethics-board member voted for a decision that needs `threshold` votes; the
    /// vote that reaches the threshold is the decision's own entry instead. Payload: motion (the
    /// entry type the decision produces: RoleGranted, RoleRevoked or AmendmentApproved), account
    /// (the member concerned; zero for amendments), version and protocolHash (the amendment;
    /// zero for membership), approvals (votes so far, this one included).
    event EthicsVoteCast(
        uint64 indexed trialId,
        address author,
        uint64 timestamp,
        EntryType motion,
        address account,
        uint16 version,
        bytes32 protocolHash,
        uint16 approvals
    );

    /// @notice Flag raised beside {AmendmentApproved} when the approved amendment changes the
    /// outcomes away from the pre-registered ones. Reports are still compared with the
    /// pre-registered outcomes. Not a timeline entry of its own.
    event OutcomesAmendedFlagged(
        uint64 indexed trialId, uint64 seq, bytes32 registeredOutcomesHash, bytes32 amendedOutcomesHash
    );

    /// @notice Flag raised beside {OutcomesReported} when the reported outcome set differs
    /// from the pre-registered one (outcome switching), whatever amendments said since.
    /// Not a timeline entry of its own.
    event OutcomeMismatchFlagged(
        uint64 indexed trialId, uint64 seq, bytes32 registeredOutcomesHash, bytes32 reportedOutcomesHash
    );

    /// @notice From now on every enrollment must prove, in zero knowledge, a credential of
    /// `issuer` meeting `criteriaHash`, checked by `gate`. Payload: gate, issuer, criteriaHash.
    event EligibilityRequired(
        uint64 indexed trialId,
        address author,
        uint64 timestamp,
        address gate,
        address issuer,
        uint256 criteriaHash
    );

    /// @notice The sponsor filed the final report of a terminated trial. Payload: reportHash, reportCid.
    event FinalReportFiled(
        uint64 indexed trialId,
        address author,
        uint64 timestamp,
        bytes32 reportHash,
        string reportCid
    );
}
