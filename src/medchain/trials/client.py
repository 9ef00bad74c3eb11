"""`TrialsClient`: typed access to the TrialRegistry contract (registration, roles and the
ethics board's k-of-n votes, amendments, oversight, site entries, results), and the export of
a trial's timeline from its events (read by `medchain.logs.LogReader`) as a log file that is
verified end to end against the chain."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from eth_abi import decode as abi_decode

from medchain.client import ContractClient
from medchain.codec import to_address, to_bytes32, to_hex, to_optional_address
from medchain.errors import InvalidInput
from medchain.hashing import selector
from medchain.logs import Event, LogReader
from medchain.trials.chain import genesis_head
from medchain.trials.commitments import NoteCommitment, SubjectCommitment, as_note
from medchain.trials.disclosures import attach_disclosures
from medchain.trials.events import EVENTS, FLAG_EVENTS, entries_from_events
from medchain.trials.logfile import comparable, raise_order, verify_log
from medchain.trials.model import (
    DEFAULT_BATCH_BLOCKS,
    LOG_FORMAT,
    EntryType,
    LogIntegrityError,
    PendingAmendment,
    Role,
    TrialInfo,
    TrialStatus,
    VerificationReport,
    check_cid,
    default_threshold,
    registry_id_bytes,
    severity_code,
)

StatusChange = Callable[..., NoteCommitment | None]


def _status_method(method: str) -> StatusChange:
    """`TrialsClient.suspend` / `resume` / `terminate`: one ethics member changes the trial's
    status; the reason's salted commitment is returned for the caller to keep."""

    def change(
        self: TrialsClient,
        trial_id: int,
        reason: NoteCommitment | str | None = None,
        *,
        sender: Any | None = None,
    ) -> NoteCommitment | None:
        return self._status_change(method, trial_id, reason, sender)

    change.__name__ = method
    change.__doc__ = (
        f"{method.capitalize()} the trial (one ethics member); the reason goes on chain only as "
        "a salted commitment, returned to keep (None: no reason given)."
    )
    return change


class TrialsClient(ContractClient):
    """Typed access to `TrialRegistry`: every write is one transaction through
    `ContractClient.transact` (reverts arrive as `ContractRevert` with the custom error)."""

    contract_name = "TrialRegistry"

    # ---- registration and roles

    def register(
        self,
        registry_id: str,
        protocol_hash: bytes,
        protocol_cid: str,
        outcomes_hash: bytes,
        ethics_board: Sequence[Any],
        *,
        threshold: int | None = None,
        consent_version: int = 1,
        sender: Any | None = None,
    ) -> int:
        """Register a trial (the sender is its sponsor); returns the new trial id. `threshold`
        is the number of ethics-board votes a membership change or an amendment approval needs
        (default: a majority of the board; a board of one decides alone)."""
        rid = registry_id_bytes(registry_id)
        board = [to_address(m, "ethics-board member") for m in ethics_board]
        if not board:
            raise InvalidInput("a trial needs at least one ethics-board address")
        k = default_threshold(len(board)) if threshold is None else int(threshold)
        if not 1 <= k <= len(board) or (k == 1 and len(board) > 1):
            raise InvalidInput(
                f"ethics threshold must be 2..{len(board)} for a board of {len(board)} "
                f"(1 only for a board of one), got {k}"
            )
        receipt = self.transact(
            "register",
            rid,
            to_bytes32(protocol_hash, "protocol hash"),
            check_cid(protocol_cid, "protocol CID"),
            to_bytes32(outcomes_hash, "outcomes hash"),
            int(consent_version),
            board,
            k,
            sender=sender,
        )
        return int(self.event_from(receipt, "TrialRegistered")["trialId"])

    def trial_id_of(self, sponsor: Any, registry_id: str) -> int:
        return int(
            self.call(
                "trialIdOf",
                to_address(sponsor, "sponsor"),
                registry_id_bytes(registry_id),
            )
        )

    def grant_role(
        self, trial_id: int, account: Any, role: Role, site: int = 0, *, sender: Any | None = None
    ) -> bool:
        """Grant a role; True when it took effect. An ethics-board grant is one member's vote:
        False until the trial's threshold of members has voted for it."""
        return self._role_change("grantRole", trial_id, account, role, site, sender)

    def revoke_role(
        self, trial_id: int, account: Any, role: Role, site: int = 0, *, sender: Any | None = None
    ) -> bool:
        """Revoke a role; True when it took effect (ethics members: k-of-n, as `grant_role`)."""
        return self._role_change("revokeRole", trial_id, account, role, site, sender)

    def _role_change(
        self, method: str, trial_id: int, account: Any, role: Role, site: int, sender: Any
    ) -> bool:
        receipt = self.transact(
            method, trial_id, to_address(account, "account"), int(role), int(site), sender=sender
        )
        return self._took_effect(receipt)

    def ethics_votes(
        self,
        trial_id: int,
        motion: EntryType,
        *,
        account: Any = None,
        version: int = 0,
        protocol_hash: bytes = bytes(32),
        member: Any = None,
    ) -> tuple[int, bool]:
        """(votes so far, whether `member` voted) for a board decision in the current epoch:
        motion RoleGranted / RoleRevoked with `account`, or AmendmentApproved with `version`
        and `protocol_hash` of the pending amendment."""
        approvals, voted = self.call(
            "ethicsVotes",
            trial_id,
            int(motion),
            to_optional_address(account, "account"),
            int(version),
            to_bytes32(protocol_hash, "protocol hash"),
            to_optional_address(member, "member"),
        )
        return int(approvals), bool(voted)

    def has_role(self, trial_id: int, account: Any, role: Role, site: int = 0) -> bool:
        return bool(
            self.call("hasRole", trial_id, to_address(account, "account"), int(role), int(site))
        )

    # ---- amendments

    def propose_amendment(
        self,
        trial_id: int,
        protocol_hash: bytes,
        protocol_cid: str,
        consent_version: int,
        outcomes_hash: bytes | None = None,
        *,
        sender: Any | None = None,
    ) -> int:
        """Propose the next protocol version; returns its version number."""
        self.transact(
            "proposeAmendment",
            trial_id,
            to_bytes32(protocol_hash, "protocol hash"),
            check_cid(protocol_cid, "protocol CID"),
            int(consent_version),
            bytes(32) if outcomes_hash is None else to_bytes32(outcomes_hash, "outcomes hash"),
            sender=sender,
        )
        return self.pending_amendment(trial_id).version

    def pending_amendment(self, trial_id: int) -> PendingAmendment:
        version, protocol_hash, consent_version, outcomes = self.call("pendingAmendment", trial_id)
        return PendingAmendment(
            int(version),
            to_hex(bytes(protocol_hash)),
            int(consent_version),
            to_hex(bytes(outcomes)),
        )

    def approve_amendment(
        self, trial_id: int, version: int, protocol_hash: bytes, *, sender: Any | None = None
    ) -> bool:
        """One ethics member's approval; True when it put the amendment in force (the trial's
        threshold of members has approved), False when it was a vote short of it."""
        receipt = self.transact(
            "approveAmendment",
            trial_id,
            int(version),
            to_bytes32(protocol_hash, "protocol hash"),
            sender=sender,
        )
        return self._took_effect(receipt)

    def reject_amendment(
        self,
        trial_id: int,
        version: int,
        protocol_hash: bytes,
        reason: NoteCommitment | str | None = None,
        *,
        sender: Any | None = None,
    ) -> NoteCommitment | None:
        """Reject the pending amendment; the reason goes on chain as a salted commitment, which
        is returned for the caller to keep (None: no reason given)."""
        note = None if reason is None else as_note(trial_id, reason, "reason")
        self.transact(
            "rejectAmendment",
            trial_id,
            int(version),
            to_bytes32(protocol_hash, "protocol hash"),
            bytes(32) if note is None else note.commitment,
            sender=sender,
        )
        return note

    def withdraw_amendment(
        self, trial_id: int, version: int, protocol_hash: bytes, *, sender: Any | None = None
    ) -> Any:
        return self.transact(
            "withdrawAmendment",
            trial_id,
            int(version),
            to_bytes32(protocol_hash, "protocol hash"),
            sender=sender,
        )

    # ---- oversight

    def _status_change(
        self, method: str, trial_id: int, reason: NoteCommitment | str | None, sender: Any
    ) -> NoteCommitment | None:
        """Suspend, resume or terminate (one ethics member); the reason goes on chain as a
        salted commitment, returned for the caller to keep (None: no reason given)."""
        note = None if reason is None else as_note(trial_id, reason, "reason")
        self.transact(
            method, trial_id, bytes(32) if note is None else note.commitment, sender=sender
        )
        return note

    suspend = _status_method("suspend")
    resume = _status_method("resume")
    terminate = _status_method("terminate")

    # ---- site entries

    def enroll(
        self,
        trial_id: int,
        site: int,
        pseudonym: str,
        *,
        consent_version: int | None = None,
        salt: bytes | None = None,
        sender: Any | None = None,
    ) -> SubjectCommitment:
        """Enroll a subject: the commitment is computed here with a fresh random salt, which
        the caller (the site) must keep; only the commitment goes on chain."""
        return self._enroll("enroll", trial_id, site, pseudonym, (), consent_version, salt, sender)

    def require_eligibility(
        self,
        trial_id: int,
        gate: Any,
        issuer: Any,
        criteria_hash: int,
        *,
        sender: Any | None = None,
    ) -> Any:
        """From now on the trial enrolls only by zero-knowledge eligibility proof (docs/zk.md):
        a credential of `issuer` meeting the criteria whose hash is `criteria_hash`
        (`medchain.zk.Criteria.hash()`), checked by `gate` (EligibilityRegistry)."""
        return self.transact(
            "requireEligibility",
            trial_id,
            to_address(gate, "gate"),
            to_address(issuer, "issuer"),
            int(criteria_hash),
            sender=sender,
        )

    def eligibility(self, trial_id: int) -> tuple[str, str, int] | None:
        """(gate, issuer, criteria hash) the trial demands, or None."""
        gate, issuer, criteria = self.call("eligibility", trial_id)
        if int(criteria) == 0:
            return None
        return str(gate), str(issuer), int(criteria)

    def enroll_eligible(
        self,
        trial_id: int,
        site: int,
        pseudonym: str,
        proof: Any,
        *,
        consent_version: int | None = None,
        salt: bytes | None = None,
        sender: Any | None = None,
    ) -> SubjectCommitment:
        """`enroll` for a trial that demands eligibility: `proof` is a `medchain.zk.Proof` made
        for this registry and trial (`EligibilityClient.prove(..., verifier=registry,
        context=trial_id)`); its nullifier is spent, so the holder cannot enroll again."""
        return self._enroll(
            "enrollEligible", trial_id, site, pseudonym, (proof.trial_tuple(),),
            consent_version, salt, sender,
        )  # fmt: skip

    def _enroll(
        self, method: str, trial_id: int, site: int, pseudonym: str, extra: tuple[Any, ...],
        consent_version: int | None, salt: bytes | None, sender: Any,
    ) -> SubjectCommitment:  # fmt: skip
        subject = SubjectCommitment.create(trial_id, pseudonym, salt)
        version = self._consent_version(trial_id, consent_version)
        self.transact(
            method, trial_id, subject.commitment, int(site), version, *extra, sender=sender
        )
        return subject

    def _consent_version(self, trial_id: int, given: int | None) -> int:
        """The consent version an entry names: the one given, else the trial's current one."""
        return self.trial(trial_id).consent_version if given is None else int(given)

    def reconsent(
        self,
        trial_id: int,
        site: int,
        commitment: bytes,
        *,
        consent_version: int | None = None,
        sender: Any | None = None,
    ) -> Any:
        return self.transact(
            "reconsent",
            trial_id,
            to_bytes32(commitment, "subject commitment"),
            int(site),
            self._consent_version(trial_id, consent_version),
            sender=sender,
        )

    def withdraw_subject(
        self,
        trial_id: int,
        site: int,
        commitment: bytes,
        reason: NoteCommitment | str | None = None,
        *,
        sender: Any | None = None,
    ) -> NoteCommitment | None:
        """Record a subject's withdrawal; returns the reason's salted commitment to keep."""
        note = None if reason is None else as_note(trial_id, reason, "reason")
        self.transact(
            "withdrawSubject",
            trial_id,
            to_bytes32(commitment, "subject commitment"),
            int(site),
            bytes(32) if note is None else note.commitment,
            sender=sender,
        )
        return note

    def log_deviation(
        self,
        trial_id: int,
        site: int,
        description: NoteCommitment | str | bytes,
        *,
        subject: bytes | None = None,
        important: bool = False,
        sender: Any | None = None,
    ) -> NoteCommitment:
        """Log a deviation. `description` (text, document bytes, or a NoteCommitment made
        earlier) goes on chain only as a salted commitment; keep the returned NoteCommitment
        (its salt) to disclose the text later."""
        note = as_note(trial_id, description, "description")
        self.transact(
            "logDeviation",
            trial_id,
            int(site),
            bytes(32) if subject is None else to_bytes32(subject, "subject commitment"),
            bool(important),
            note.commitment,
            sender=sender,
        )
        return note

    def log_adverse_event(
        self,
        trial_id: int,
        site: int,
        subject: bytes,
        *,
        grade: int,
        serious: bool,
        report: NoteCommitment | str | bytes,
        sender: Any | None = None,
    ) -> NoteCommitment:
        """Log an adverse event; `report` (text, document bytes or a NoteCommitment) goes on
        chain only as a salted commitment, returned for the site to keep."""
        note = as_note(trial_id, report, "report")
        self.transact(
            "logAdverseEvent",
            trial_id,
            int(site),
            to_bytes32(subject, "subject commitment"),
            severity_code(grade, serious),
            note.commitment,
            sender=sender,
        )
        return note

    # ---- sponsor results

    def lock_data(
        self, trial_id: int, dataset_hash: bytes, dataset_cid: str, *, sender: Any | None = None
    ) -> Any:
        """Lock the trial's dataset (its hash and CID): no site entries after this."""
        return self._file_document(
            "lockData", trial_id, dataset_hash, dataset_cid, "dataset", sender
        )

    def report_outcomes(
        self,
        trial_id: int,
        reported_outcomes_hash: bytes,
        results_hash: bytes,
        results_cid: str,
        *,
        sender: Any | None = None,
    ) -> bool:
        """Report results; returns whether the outcome set matches the registered one (a
        mismatch is recorded and flagged on chain, never refused)."""
        receipt = self.transact(
            "reportOutcomes",
            trial_id,
            to_bytes32(reported_outcomes_hash, "reported outcomes hash"),
            to_bytes32(results_hash, "results hash"),
            check_cid(results_cid, "results CID"),
            sender=sender,
        )
        return not self.events_from(receipt, "OutcomeMismatchFlagged")

    def file_final_report(
        self, trial_id: int, report_hash: bytes, report_cid: str, *, sender: Any | None = None
    ) -> Any:
        """File the final report (its hash and CID)."""
        return self._file_document(
            "fileFinalReport", trial_id, report_hash, report_cid, "report", sender
        )

    def _file_document(
        self, method: str, trial_id: int, digest: bytes, cid: str, what: str, sender: Any
    ) -> Any:
        return self.transact(
            method,
            trial_id,
            to_bytes32(digest, f"{what} hash"),
            check_cid(cid, f"{what} CID"),
            sender=sender,
        )

    # ---- reads

    def trial(self, trial_id: int) -> TrialInfo:
        v = self.call("trial", trial_id)
        info = TrialInfo(
            trial_id=int(trial_id),
            sponsor=str(v.sponsor),
            status=TrialStatus(int(v.status)),
            locked=bool(v.locked),
            protocol_version=int(v.protocolVersion),
            consent_version=int(v.consentVersion),
            entry_count=int(v.entryCount),
            head=to_hex(bytes(v.head)),
            protocol_hash=to_hex(bytes(v.protocolHash)),
            outcomes_hash=to_hex(bytes(v.outcomesHash)),
            registered_block=int(v.registeredBlock),
            ethics_count=int(v.ethicsCount),
            outcome_reports=int(v.outcomeReports),
            outcome_mismatches=int(v.outcomeMismatches),
            ethics_threshold=int(v.ethicsThreshold),
            board_epoch=int(v.boardEpoch),
            amended_outcomes_hash=to_hex(bytes(v.amendedOutcomesHash)),
        )
        if info.status == TrialStatus.NONE:
            raise InvalidInput(f"no trial {trial_id} in the TrialRegistry at {self.address}")
        return info

    def chain_head(self, trial_id: int, block: int | None = None) -> tuple[bytes, int]:
        """(head, entry count) now, or as of `block` (an export's consistent snapshot)."""
        if block is None:
            head, count = self.call("chainHead", trial_id)
            return bytes(head), int(count)
        from ape import chain

        data = selector("chainHead(uint64)") + int(trial_id).to_bytes(32, "big")
        reply = chain.provider.web3.eth.call(
            {"to": self.address, "data": "0x" + data.hex()}, block_identifier=block
        )
        head, count = abi_decode(["bytes32", "uint64"], bytes(reply))
        return bytes(head), int(count)

    # ---- export and verify

    def events(
        self,
        trial_id: int,
        from_block: int,
        to_block: int,
        *,
        batch_blocks: int = DEFAULT_BATCH_BLOCKS,
    ) -> list[Event]:
        """The trial's entry and flag events between the blocks, in chain order, read by
        `medchain.logs.LogReader` in windows of at most `batch_blocks` blocks (narrower
        when the node refuses a window as too large)."""
        from ape import chain

        window = max(1, int(batch_blocks))
        abi = [
            item.model_dump(mode="json", by_alias=True) for item in self.contract.contract_type.abi
        ]
        reader = LogReader(
            chain.provider.web3, {self.address: abi}, window=window, max_window=window
        )
        names = [*EVENTS, *FLAG_EVENTS]
        return reader.read(from_block, to_block, names=names, where={"trialId": int(trial_id)})

    def export(
        self,
        trial_id: int,
        *,
        from_block: int | None = None,
        to_block: int | None = None,
        batch_blocks: int = DEFAULT_BATCH_BLOCKS,
        disclosures: Iterable[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        """The trial's full log as JSON-ready data, read from events in block ranges, with the
        given disclosure records (salts and texts or pseudonyms the caller holds) attached where
        they open one of the log's commitments (see `attach_disclosures`)."""
        from ape import chain

        last = int(chain.blocks.head.number if to_block is None else to_block)
        # The chain's head as of the last block read, so entries added meanwhile do not count.
        head_now, count_now = self.chain_head(trial_id, block=last)
        if from_block is None or count_now == 0:
            # The trial (one call) only for where its events start, or to refuse an unknown
            # trial in one line (a registered trial has at least its registration entry).
            info = self.trial(trial_id)
            from_block = info.registered_block if from_block is None else from_block
        events = self.events(trial_id, from_block, last, batch_blocks=batch_blocks)
        genesis = genesis_head(self.chain_id, self.address, trial_id)
        entries, flags, head = entries_from_events(trial_id, events, genesis)
        log = {
            "format": LOG_FORMAT,
            "chainId": self.chain_id,
            "registry": self.address,
            "trialId": int(trial_id),
            "genesisHead": to_hex(genesis),
            "entryCount": count_now,
            "head": to_hex(head_now),
            "exportedAtBlock": int(last),
            "entries": entries,
            "flags": flags,
            "disclosures": [],
        }
        if len(entries) != count_now or head != head_now:
            raise LogIntegrityError(
                f"events read ({len(entries)} entries, head {to_hex(head)}) do not reproduce the "
                f"chain's head ({count_now} entries, {to_hex(head_now)}); was from_block after the "
                "trial's registration, or did the node drop logs?",
                seq=min(len(entries), count_now),
                kind="truncated" if len(entries) < count_now else "edited",
            )
        attach_disclosures(log, disclosures)
        return log

    def verify(
        self, log: Mapping[str, Any], *, batch_blocks: int = DEFAULT_BATCH_BLOCKS
    ) -> VerificationReport:
        """Verify an exported log end to end: on its own (`verify_log`), then against the
        chain's stored head and count. When the two disagree, the chain's events are read
        again and compared entry by entry to name the first entry that differs."""
        try:
            trial_id, chain_id = int(log["trialId"]), int(log["chainId"])
        except (KeyError, TypeError, ValueError) as exc:
            raise LogIntegrityError(
                f"log header is malformed: {exc}", seq=None, kind="edited"
            ) from exc
        if (
            chain_id != self.chain_id
            or str(log.get("registry", "")).lower() != self.address.lower()
        ):
            raise LogIntegrityError(
                f"log is for chain {log.get('chainId')} registry {log.get('registry')}, not chain "
                f"{self.chain_id} registry {self.address}",
                seq=None,
                kind="foreign",
            )
        head_now, count_now = self.chain_head(trial_id)
        header_matches = int(log.get("entryCount", -1)) == count_now and str(
            log.get("head", "")
        ).lower() == to_hex(head_now)
        try:
            report = verify_log(log)
        except LogIntegrityError as exc:
            if exc.seq is None and exc.kind == "edited":
                # Entries rewritten together with their heads: the chain names the entry.
                self._raise_first_difference(log, trial_id, batch_blocks)
            raise
        if not header_matches:
            self._raise_first_difference(log, trial_id, batch_blocks)
        report.checked_against_chain = True
        return report

    def _raise_first_difference(
        self, log: Mapping[str, Any], trial_id: int, batch_blocks: int
    ) -> None:
        chain_log = self.export(trial_id, batch_blocks=batch_blocks)
        ours = list(log.get("entries") or [])
        theirs = chain_log["entries"]
        for index, truth in enumerate(theirs):
            if index >= len(ours):
                raise LogIntegrityError(
                    f"log truncated: it ends before seq {index}; the chain has {len(theirs)} "
                    "entries (or the log was exported before the later ones were added)",
                    seq=index,
                    kind="truncated",
                )
            mine = ours[index]
            if mine.get("seq") != index:
                raise_order(index, mine.get("seq"), ours)
            if comparable(mine) != comparable(truth):
                raise LogIntegrityError(
                    f"entry {index} ({truth['type']}) does not match the chain: it was edited",
                    seq=index,
                    kind="edited",
                )
        if len(ours) > len(theirs):
            raise LogIntegrityError(
                f"log has {len(ours)} entries, the chain {len(theirs)}: entry {len(theirs)} "
                "onwards is not on chain",
                seq=len(theirs),
                kind="extra",
            )
        raise LogIntegrityError(
            "log header (head or count) differs from the chain although every entry matches",
            seq=None,
            kind="edited",
        )

    def _took_effect(self, receipt: Any) -> bool:
        """Whether a board call decided (False: it was one member's vote, short of the
        trial's threshold, so the contract logged only an EthicsVoteCast)."""
        return not self.events_from(receipt, "EthicsVoteCast")
