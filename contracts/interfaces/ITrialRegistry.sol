// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title ITrialRegistry
/// @notice External API (functions, types, errors, events) of the clinical-trial registry:
/// registered protocols, ethics-approved amendments and a tamper-evident hash-chained timeline
/// per trial.
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
    /// @notice A trial as returned by {trial}.
    struct TrialView {
        address sponsor;
        Status status;
        bool locked;
        uint16 protocolVersion;
        uint16 consentVersion;
        uint64 entryCount;
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

    /*//////////////////////////////////////////////////////////////
                                 TYPES
    //////////////////////////////////////////////////////////////*/

    /// @notice Life-cycle of a trial, driven by the ethics board (and the sponsor's final report).
    enum Status {
        None, // not registered
        Active,
        Suspended, // no enrollments; safety reporting continues
        Terminated, // nothing but the sponsor's final report
        Closed, // final report filed: the log is complete
        Moved // carried to a successor registry by its governance (docs/upgrades.md): reads only here
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
        EligibilityRequired, // enrollments must prove eligibility in zero knowledge (docs/zk.md)
        MoveProposed, // the sponsor proposes carrying the trial to a successor registry version
        MoveWithdrawn, // the sponsor withdraws that proposal
        Moved // the board approved the move: the last entry in this registry (docs/upgrades.md)
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

    /// @notice The trial was moved to `successor` (a newer registry version): write there; reads stay here.
    error TrialMoved(uint64 trialId, address successor);

    /// @notice `successor` cannot take the trial: not a contract naming this registry as its `predecessor`.
    error TrialInvalidSuccessor(uint64 trialId, address successor);

    /// @notice A move (to `successor`) is pending: amendments and a second move wait until it is
    /// approved or withdrawn.
    error TrialMovePending(uint64 trialId, address successor);

    /// @notice No move to `successor` is pending for the trial.
    error TrialNoSuchMove(uint64 trialId, address successor);

    /// @notice {importTrial} on a first version (its `predecessor` is address(0)).
    error TrialNoPredecessor();

    /// @notice The predecessor's trial `oldId` was not moved to this registry.
    error TrialNotMovedHere(uint64 oldId, address successor);

    /// @notice The predecessor's trial `oldId` was already imported here as `trialId`.
    error TrialAlreadyImported(uint64 oldId, uint64 trialId);

    /// @notice `registryId` is not the sponsor's registry id of the predecessor's trial `oldId`.
    error TrialRegistryIdMismatch(uint64 oldId, bytes32 registryId);

    /// @notice The listed members hold `listed` of the predecessor's `members` ethics seats: an
    /// import must carry the whole board (its k-of-n decisions depend on it).
    error TrialIncompleteBoard(uint64 oldId, uint256 listed, uint256 members);

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
    /// @notice The sponsor proposed moving the trial to `successor`. Payload: successor.
    event TrialMoveProposed(uint64 indexed trialId, address author, uint64 timestamp, address successor);

    /// @notice The sponsor withdrew the pending move. Payload: successor.
    event TrialMoveWithdrawn(uint64 indexed trialId, address author, uint64 timestamp, address successor);

    /// @notice The ethics board approved the move (the threshold-reaching member is the author):
    /// the trial's last entry here; its chain continues in `successor`. Payload: successor.
    event TrialMovedTo(uint64 indexed trialId, address author, uint64 timestamp, address successor);

    /// @notice Not an entry: the predecessor's trial `oldId` was imported as `trialId` with its
    /// chain head and entry count, so the next entry here links to `head` at seq `entryCount`.
    event TrialImported(
        uint64 indexed trialId, address indexed predecessor, uint64 oldId, bytes32 head, uint64 entryCount
    );

    event FinalReportFiled(
        uint64 indexed trialId,
        address author,
        uint64 timestamp,
        bytes32 reportHash,
        string reportCid
    );

    /*//////////////////////////////////////////////////////////////
                               FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Domain tag of every trial's genesis head.
    function GENESIS_TAG() external view returns (bytes32);

    /// @notice Longest CID string accepted (a base32 CIDv1 with sha2-256 is 59 bytes).
    function MAX_CID_LENGTH() external view returns (uint256);

    /// @notice Bit of an adverse event's `severity` that marks it serious (ICH E2A).
    function SERIOUS_FLAG() external view returns (uint8);

    /// @notice Most ethics-board members at registration (bounds the registration loop).
    function MAX_ETHICS_BOARD() external view returns (uint256);

    /// @notice Most sites one investigator can hold in one trial (packed in the member word).
    function MAX_SITES_PER_INVESTIGATOR() external view returns (uint256);

    /// @notice Registers a trial with the caller as sponsor; this is entry 0 of its timeline.
    /// @param registryId External registry id as left-aligned ASCII (e.g. "NCT01234567"), or a
    /// hash of a longer one; with the sponsor it names the trial.
    /// @param protocolHash Hash of the protocol document (version 1).
    /// @param protocolCid Content id of the (encrypted or public) protocol document.
    /// @param outcomesHash Hash of the pre-specified primary and secondary outcomes.
    /// @param consentVersion Version of the informed-consent form in force.
    /// @param ethicsBoard The ethics board's addresses (each may be a multisig).
    /// @param ethicsThreshold Votes the board needs to change its membership or approve an
    /// amendment (k of n); fixed for the trial's life.
    /// @return trialId The new trial's id (sequential from 1).
    /// Requirements:
    /// - no trial of the caller under `registryId`; hashes non-zero; CID 1..128 bytes;
    /// - 1..16 distinct non-zero ethics-board members, none of them the sponsor;
    /// - threshold 1..members, and >= 2 when the board has more than one member.
    /// Emits {TrialRegistered}.
    function register(
        bytes32 registryId,
        bytes32 protocolHash,
        string calldata protocolCid,
        bytes32 outcomesHash,
        uint16 consentVersion,
        address[] calldata ethicsBoard,
        uint16 ethicsThreshold
    ) external returns (uint64 trialId);

    /// @notice Grants a per-trial role: the sponsor manages investigators (per site) and monitors;
    /// only the ethics board changes its own membership, k-of-n: each member's call is a vote,
    /// and the vote that reaches the trial's threshold adds the member.
    /// @param siteId The site number of an investigator (> 0); 0 for other roles.
    /// @return granted Whether the role is now held (false: an ethics vote short of the threshold).
    /// Requirements:
    /// - caller is the sponsor (Investigator, Monitor) or an ethics-board member (Ethics);
    /// - trial not terminated or closed; `account` non-zero and not already in the role;
    /// - the sponsor never holds a site role and never joins the ethics board;
    /// - an ethics member votes once per decision; a board of one (threshold 1) cannot grow.
    /// Emits {TrialRoleGranted}, or {EthicsVoteCast} for an ethics vote short of the threshold.
    function grantRole(
        uint64 trialId,
        address account,
        Role role,
        uint32 siteId
    ) external returns (bool granted);

    /// @notice Revokes a per-trial role (same authority as {grantRole}; ethics members k-of-n).
    /// @return revoked Whether the role is now gone (false: an ethics vote short of the threshold).
    /// Requirements:
    /// - as {grantRole}; `account` holds the role;
    /// - the board never shrinks below its threshold.
    /// Emits {TrialRoleRevoked}, or {EthicsVoteCast} for an ethics vote short of the threshold.
    function revokeRole(
        uint64 trialId,
        address account,
        Role role,
        uint32 siteId
    ) external returns (bool revoked);

    /// @notice Proposes protocol version `protocolVersion + 1`; nothing changes until the ethics
    /// board approves it.
    /// @param consentVersion Consent form version under the amendment (higher: subjects re-consent).
    /// @param outcomesHash New pre-specified outcomes hash, or zero to keep the registered one.
    /// Requirements:
    /// - caller is the sponsor; trial active or suspended; no amendment pending;
    /// - a new non-zero protocol hash; CID 1..128 bytes; consent version not lowered;
    /// - no outcome change after data lock.
    /// Emits {AmendmentProposed}.
    function proposeAmendment(
        uint64 trialId,
        bytes32 protocolHash,
        string calldata protocolCid,
        uint16 consentVersion,
        bytes32 outcomesHash
    ) external returns (uint16 version);

    /// @notice An ethics-board member approves the pending amendment. Approval is k-of-n: each
    /// member's call is a vote, and the vote that reaches the trial's threshold puts the amendment
    /// in force (new protocol hash, protocol version, consent form version and, if given, amended
    /// outcomes). An outcome change is flagged; reports are still compared with the pre-registered
    /// outcomes.
    /// @param version and `protocolHash` name what was reviewed, so a different proposal is never approved.
    /// @return approved Whether the amendment is now in force (false: a vote short of the threshold).
    /// Requirements:
    /// - caller is on the ethics board and has not voted for this proposal in this board epoch;
    /// - trial active or suspended; the pending amendment matches `version` and `protocolHash`;
    /// - no outcome change after data lock.
    /// Emits {AmendmentApproved} (and {OutcomesAmendedFlagged} when outcomes change), or
    /// {EthicsVoteCast} for a vote short of the threshold.
    function approveAmendment(
        uint64 trialId,
        uint16 version,
        bytes32 protocolHash
    ) external returns (bool approved);

    /// @notice The ethics board rejects the pending amendment; the protocol in force is unchanged.
    /// Requirements:
    /// - caller is on the ethics board; trial active or suspended; the pending amendment matches.
    /// Emits {AmendmentRejected}.
    function rejectAmendment(
        uint64 trialId,
        uint16 version,
        bytes32 protocolHash,
        bytes32 reasonCommitment
    ) external;

    /// @notice The sponsor withdraws its pending amendment.
    /// Requirements:
    /// - caller is the sponsor; trial active or suspended; the pending amendment matches.
    /// Emits {AmendmentWithdrawn}.
    function withdrawAmendment(uint64 trialId, uint16 version, bytes32 protocolHash) external;

    /// @notice The ethics board suspends the trial: no enrollments until it resumes.
    /// Requirements:
    /// - caller is on the ethics board; trial active.
    /// Emits {TrialStatusChanged}.
    function suspend(uint64 trialId, bytes32 reasonCommitment) external;

    /// @notice The ethics board lifts a suspension.
    /// Requirements:
    /// - caller is on the ethics board; trial suspended.
    /// Emits {TrialStatusChanged}.
    function resume(uint64 trialId, bytes32 reasonCommitment) external;

    /// @notice The ethics board terminates the trial: afterwards only the sponsor's final report.
    /// Requirements:
    /// - caller is on the ethics board; trial active or suspended.
    /// Emits {TrialStatusChanged}.
    function terminate(uint64 trialId, bytes32 reasonCommitment) external;

    /// @notice Enrolls a subject at `siteId` under the consent form in force.
    /// @param subjectCommitment Salted commitment to the pseudonymous subject id (the site keeps the salt).
    /// Requirements:
    /// - caller is an investigator of `siteId`; trial active (not suspended); data not locked;
    /// - `consentVersion` is the version in force; commitment non-zero.
    /// Emits {SubjectEnrolled}.
    function enroll(
        uint64 trialId,
        bytes32 subjectCommitment,
        uint32 siteId,
        uint16 consentVersion
    ) external;

    /// @notice Enrolls a subject of a trial that demands an eligibility proof: the subject
    /// proves, in zero knowledge, that a credential of the trial's issuer meets its criteria;
    /// the proof's nullifier is spent in the trial's scope, so the same holder cannot enroll
    /// twice, and the proof reveals nothing else. The entry is the same {SubjectEnrolled}.
    /// @param proof Root, nullifier and date of the proof, and the Groth16 proof itself.
    /// Requirements:
    /// - as {enroll}; the trial demands eligibility ({requireEligibility});
    /// - the gate accepts the proof for (issuer, criteriaHash, context = trialId).
    /// Emits {SubjectEnrolled} (and the gate's {IEligibilityRegistry-EligibilityVerified}).
    function enrollEligible(
        uint64 trialId,
        bytes32 subjectCommitment,
        uint32 siteId,
        uint16 consentVersion,
        EligibilityProof calldata proof
    ) external;

    /// @notice Makes every later enrollment of the trial prove eligibility in zero knowledge
    /// (see {enrollEligible}); plain {enroll} is refused from then on. Set once, never lifted.
    /// @param gate The eligibility gate (EligibilityRegistry) that checks proofs.
    /// @param issuer The credential issuer whose tree the proofs must use.
    /// @param criteriaHash Poseidon hash of the criteria (medchain.zk.Criteria.hash()).
    /// Requirements:
    /// - caller is the sponsor; trial active or suspended; not gated yet; non-zero arguments.
    /// Emits {EligibilityRequired}.
    function requireEligibility(
        uint64 trialId,
        address gate,
        address issuer,
        uint256 criteriaHash
    ) external;

    /// @notice The eligibility a trial demands (all zero when it demands none).
    function eligibility(
        uint64 trialId
    ) external view returns (address gate, address issuer, uint256 criteriaHash);

    /// @notice Records that an enrolled subject signed the consent form of an approved amendment.
    /// Requirements:
    /// - caller is an investigator of `siteId`; trial active or suspended;
    /// - `consentVersion` is the version in force; commitment non-zero.
    /// Emits {SubjectReconsented}.
    function reconsent(
        uint64 trialId,
        bytes32 subjectCommitment,
        uint32 siteId,
        uint16 consentVersion
    ) external;

    /// @notice Records that a subject withdrew or was lost to follow-up.
    /// Requirements:
    /// - caller is an investigator of `siteId`; trial active or suspended; commitment non-zero.
    /// Emits {SubjectWithdrawn}.
    function withdrawSubject(
        uint64 trialId,
        bytes32 subjectCommitment,
        uint32 siteId,
        bytes32 reasonCommitment
    ) external;

    /// @notice Logs a protocol deviation at `siteId` (optionally for one subject).
    /// @param subjectCommitment The subject's commitment, or zero for a site-level deviation.
    /// @param important ICH E3 "important" deviation (may affect data reliability or subject safety).
    /// @param descriptionCommitment Salted commitment to the description (never a bare hash of
    /// the text: short texts fall to a dictionary); the site keeps text and salt.
    /// Requirements:
    /// - caller is an investigator of `siteId` or a monitor; trial active or suspended;
    /// - description commitment non-zero.
    /// Emits {DeviationLogged}.
    function logDeviation(
        uint64 trialId,
        uint32 siteId,
        bytes32 subjectCommitment,
        bool important,
        bytes32 descriptionCommitment
    ) external;

    /// @notice Logs an adverse event of a subject at `siteId`.
    /// @param severity CTCAE severity grade 1..5 in the low bits, plus SERIOUS_FLAG (0x80) for a
    /// serious adverse event (ICH E2A: death, life-threatening, hospitalisation, ...). One word
    /// instead of two keeps the entry under 40,000 gas.
    /// @param reportCommitment Salted commitment to the report (text or document); the site keeps
    /// the salt.
    /// Requirements:
    /// - caller is an investigator of `siteId` or a monitor; trial active or suspended;
    /// - both commitments non-zero; severity = grade 1..5, optionally | SERIOUS_FLAG.
    /// Emits {AdverseEventLogged}.
    function logAdverseEvent(
        uint64 trialId,
        uint32 siteId,
        bytes32 subjectCommitment,
        uint8 severity,
        bytes32 reportCommitment
    ) external;

    /// @notice Locks the database before analysis: no more enrollments, no outcome changes.
    /// @param datasetHash Hash of the locked (encrypted) dataset; `datasetCid` where it is stored.
    /// Requirements:
    /// - caller is the sponsor; trial active or suspended; not locked yet; hash non-zero; CID 1..128 bytes.
    /// Emits {DataLocked}.
    function lockData(uint64 trialId, bytes32 datasetHash, string calldata datasetCid) external;

    /// @notice Reports results for an outcome set. A set whose hash differs from the
    /// pre-registered outcomes is recorded all the same, marked as a mismatch and flagged.
    /// @param reportedOutcomesHash Hash of the outcome set the results are reported for
    /// (same canonical form as the registered hash).
    /// Requirements:
    /// - caller is the sponsor; trial active or suspended; data locked;
    /// - hashes non-zero; CID 1..128 bytes.
    /// Emits {OutcomesReported}, and {OutcomeMismatchFlagged} on a mismatch.
    function reportOutcomes(
        uint64 trialId,
        bytes32 reportedOutcomesHash,
        bytes32 resultsHash,
        string calldata resultsCid
    ) external returns (bool matchesRegistered);

    /// @notice Files the final report and closes the trial's log.
    /// Requirements:
    /// - caller is the sponsor; trial terminated, or active/suspended with data locked;
    /// - hash non-zero; CID 1..128 bytes.
    /// Emits {FinalReportFiled}.
    function fileFinalReport(
        uint64 trialId,
        bytes32 reportHash,
        string calldata reportCid
    ) external;

    /// @notice The id of `sponsor`'s trial registered under `registryId` (0: none).
    /*//////////////////////////////////////////////////////////////
                               MIGRATION
    //////////////////////////////////////////////////////////////*/

    /// @notice The registry version this one imports trials from (address(0): a first version).
    function predecessor() external view returns (address);

    /// @notice The sponsor proposes moving the trial to `successor`, a registry whose
    /// `predecessor` is this one. Refused while an amendment is pending (it could not be carried)
    /// and while another move is pending. A {MoveProposed} entry.
    function proposeMove(uint64 trialId, address successor) external;

    /// @notice One ethics member's approval of the pending move (k-of-n, like an amendment; the
    /// votes are bound to the proposal and the board epoch). Short of the threshold: an
    /// {EthicsVoteCast} entry and false. At the threshold: the {Moved} entry, status `Moved`,
    /// true; every later write to the trial here reverts with {TrialMoved}.
    function approveMove(uint64 trialId, address successor) external returns (bool moved);

    /// @notice The sponsor withdraws the pending move. A {MoveWithdrawn} entry.
    function withdrawMove(uint64 trialId, address successor) external;

    /// @notice The pending move's successor (address(0): none).
    function pendingMove(uint64 trialId) external view returns (address successor);

    /// @notice Where the trial was moved (address(0): not moved).
    function successorOf(uint64 trialId) external view returns (address);

    /// @notice Everything a successor needs to import the trial: its record (status `Moved`
    /// once moved), the status it had when moved (carried over), its successor, and its
    /// eligibility settings.
    function handOver(uint64 trialId)
        external
        view
        returns (
            TrialView memory v,
            Status carriedStatus,
            address successor,
            bool eligibilityGated,
            Eligibility memory gate
        );

    /// @notice The account's raw role word in the trial (role flags and site ids), for import.
    function memberWord(uint64 trialId, address account) external view returns (uint256);

    /// @notice Imports the predecessor's trial `oldId`, moved to this registry by its governance,
    /// as a new trial id here (permissionless: everything is read from the predecessor). The
    /// record, eligibility settings, head and entry count are copied so the chain continues;
    /// `registryId` (from the predecessor's {TrialRegistered}) must be the sponsor's registry id of
    /// `oldId` and keeps {trialIdOf} answering; each listed account's role word is read from the
    /// predecessor (an account without one gains nothing), and the list must carry the whole
    /// ethics board. Open votes are not carried: they restart here. Not an entry: {TrialImported}.
    function importTrial(uint64 oldId, bytes32 registryId, address[] calldata members)
        external
        returns (uint64 trialId);

    /// @notice The predecessor's trial id this trial was imported from (0: registered here).
    function importedFrom(uint64 trialId) external view returns (uint64);

    /// @notice This registry's id of the predecessor's trial `oldId` (0: not imported).
    function importedAs(uint64 oldId) external view returns (uint64);

    function trialIdOf(address sponsor, bytes32 registryId) external view returns (uint64);

    /// @notice Number of trials registered (ids run 1..trialCount).
    function trialCount() external view returns (uint64);

    /// @notice The head before entry 0: binds a trial's chain to this chain id and registry.
    function genesisHead(uint64 trialId) external view returns (bytes32);

    /// @notice Everything stored about a trial (status None if unregistered).
    function trial(uint64 trialId) external view returns (TrialView memory v);

    /// @notice Votes so far for an ethics-board decision in the board's current epoch, and
    /// whether `member` cast one. `motion` is RoleGranted / RoleRevoked (with `account`) or
    /// AmendmentApproved (with the pending amendment's `version` and `protocolHash`).
    function ethicsVotes(
        uint64 trialId,
        EntryType motion,
        address account,
        uint16 version,
        bytes32 protocolHash,
        address member
    ) external view returns (uint256 approvals, bool voted);

    /// @notice The chain head and number of entries: what an exported log must reproduce.
    function chainHead(uint64 trialId) external view returns (bytes32 head, uint64 entryCount);

    /// @notice The amendment waiting for the ethics board (version 0: none).
    function pendingAmendment(
        uint64 trialId
    ) external view returns (uint16 version, bytes32 protocolHash, uint16 consentVersion, bytes32 outcomesHash);

    /// @notice Whether `account` holds `role` in `trialId` (`siteId` only matters for Investigator).
    function hasRole(
        uint64 trialId,
        address account,
        Role role,
        uint32 siteId
    ) external view returns (bool);
}
