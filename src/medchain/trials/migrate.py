"""Moving a trial from one TrialRegistry version to the next (docs/upgrades.md, "TrialRegistry:
migration"): the trial's own governance decides (the sponsor proposes, the ethics board approves
k-of-n), then anyone imports it into the successor, which reads everything from the predecessor.

1. `propose_move` / `approve_move` / `withdraw_move`: the motion in the old registry; when the
   board's threshold approves, the trial's last entry there is `Moved` and its writes revert;
2. `members_from_events`: the accounts that ever held a role in the trial, from its role events
   (medchain.logs via `TrialsClient.events`; role words cannot be enumerated on chain);
3. `import_trial`: `successor.importTrial(oldId, registryId, members)`, which copies the record,
   the head and entry count, eligibility settings and the listed accounts' role words;
4. `verify_move`: every view answer identical across versions, and one timeline: the old log
   verified from genesis to the `Moved` entry, the successor's entries chained on from that head
   (seq continuing, the successor's trial id in their hashes) up to the successor's stored head.
Refusals are typed (`medchain.errors`), one line each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from medchain.codec import to_address, to_hex
from medchain.errors import IntegrityError, InvalidInput
from medchain.hashing import keccak
from medchain.trials.chain import encode_payload, entry_hash, next_head
from medchain.trials.client import TrialsClient
from medchain.trials.events import EVENTS, payload_json
from medchain.trials.model import EntryType, TrialStatus

__all__ = [
    "MoveReport",
    "TrialMigrationError",
    "TrialNotMovable",
    "approve_move",
    "continued_entries",
    "import_trial",
    "members_from_events",
    "move_status",
    "propose_move",
    "verify_move",
    "withdraw_move",
]

ZERO_ADDRESS = "0x" + "00" * 20


class TrialNotMovable(InvalidInput):
    """The trial cannot be imported into that registry (not moved there, already imported,
    or the registry has another predecessor)."""


class TrialMigrationError(IntegrityError):
    """The imported trial does not answer as the original did, or its timeline breaks."""


@dataclass
class MoveReport:
    old_id: int
    new_id: int
    members: list[str]
    entries_before: int  # entries in the predecessor, the last one `Moved`
    entries_after: int  # entries in the successor since the import
    head: str  # the successor's head, reached from the predecessor's genesis
    checked: list[str] = field(default_factory=list)  # what was compared


def _lower(address: Any) -> str:
    return str(address).lower()


def propose_move(old: TrialsClient, trial_id: int, successor: Any, *, sender: Any = None) -> Any:
    """The sponsor's proposal to move the trial to `successor` (a `MoveProposed` entry)."""
    return old.transact(
        "proposeMove", int(trial_id), to_address(successor, "successor"), sender=sender
    )


def approve_move(old: TrialsClient, trial_id: int, successor: Any, *, sender: Any = None) -> bool:
    """One ethics member's approval; True when it reached the board's threshold (the trial is
    now `Moved`), False when it was a vote short of it."""
    receipt = old.transact(
        "approveMove", int(trial_id), to_address(successor, "successor"), sender=sender
    )
    return bool(old.events_from(receipt, "TrialMovedTo"))


def withdraw_move(old: TrialsClient, trial_id: int, successor: Any, *, sender: Any = None) -> Any:
    """The sponsor withdraws the pending move (a `MoveWithdrawn` entry)."""
    return old.transact(
        "withdrawMove", int(trial_id), to_address(successor, "successor"), sender=sender
    )


def _role_events(client: TrialsClient, trial_id: int) -> list[Any]:
    from ape import chain

    info = client.trial(trial_id)
    # An imported trial's registeredBlock is the original registration's, on the same chain:
    # reading from there also covers this registry's own events (it was deployed later).
    return client.events(trial_id, info.registered_block, int(chain.blocks.head.number))


def members_from_events(client: TrialsClient, trial_id: int) -> list[str]:
    """Every account that was ever granted a role in the trial (in this registry, and, for a
    trial this registry imported, in its predecessors), in first-grant order. Accounts whose
    roles were revoked are included: the import copies their current word, which is zero."""
    seen: dict[str, None] = {}
    for event in _role_events(client, trial_id):
        if event.name == "TrialRoleGranted":
            seen.setdefault(_lower(event.args["account"]), None)
    old_id = int(client.call("importedFrom", int(trial_id)))
    if old_id:
        for account in members_from_events(_predecessor_client(client), old_id):
            seen.setdefault(account, None)
    return list(seen)


def _predecessor_client(client: TrialsClient) -> TrialsClient:
    from ape import project

    address = str(client.call("predecessor"))
    return TrialsClient(project.TrialRegistry.at(address))


def _registry_id(old: TrialsClient, old_id: int) -> bytes:
    """The sponsor's registry id of the trial, from its registration (or, for a trial `old`
    itself imported, its predecessor's)."""
    for event in _role_events(old, old_id):
        if event.name == "TrialRegistered":
            return bytes(event.args["registryId"])
    earlier = int(old.call("importedFrom", int(old_id)))
    if earlier:
        return _registry_id(_predecessor_client(old), earlier)
    raise TrialMigrationError(f"trial {old_id}: no TrialRegistered event found in {old.address}")


def import_trial(
    new: TrialsClient,
    old: TrialsClient,
    old_id: int,
    *,
    members: list[str] | None = None,
    sender: Any = None,
) -> int:
    """Import `old`'s trial `old_id`, moved to `new` by its governance; returns its id in `new`.
    `members` defaults to every account from the trial's role events."""
    predecessor = _lower(new.call("predecessor"))
    if predecessor != _lower(old.address):
        raise TrialNotMovable(
            f"registry {new.address} imports from {predecessor}, not from {old.address}"
        )
    successor = _lower(old.call("successorOf", int(old_id)))
    if successor != _lower(new.address):
        where = "not moved" if successor == ZERO_ADDRESS else f"moved to {successor}"
        raise TrialNotMovable(f"trial {old_id} of {old.address} is {where}, not to {new.address}")
    done = int(new.call("importedAs", int(old_id)))
    if done:
        raise TrialNotMovable(f"trial {old_id} is already imported into {new.address} as {done}")
    listed = members_from_events(old, old_id) if members is None else [_lower(m) for m in members]
    receipt = new.transact(
        "importTrial", int(old_id), _registry_id(old, old_id), listed, sender=sender
    )
    (event,) = new.events_from(receipt, "TrialImported")
    return int(event["trialId"])


def continued_entries(
    new: TrialsClient, new_id: int, start_head: bytes, start_seq: int
) -> tuple[list[dict[str, Any]], bytes]:
    """The successor's entries of `new_id`, chained on from the imported head: seq continues
    at `start_seq`, entry hashes use the successor's trial id. Returns (entries, last head)."""
    from ape import chain

    entries: list[dict[str, Any]] = []
    head = start_head
    events = new.events(
        new_id, int(new.trial(new_id).registered_block), int(chain.blocks.head.number)
    )
    for event in sorted(events, key=lambda e: (e.block_number, e.log_index)):
        if event.name not in EVENTS:
            continue
        etype, fields = EVENTS[event.name]
        args = event.args
        if etype is None:
            etype = EntryType(int(args["entryType"]))
            fields = fields[1:]
        seq = start_seq + len(entries)
        payload_hash = keccak(encode_payload(fields, [args[n] for n, _ in fields]))
        author = _lower(args["author"])
        eh = entry_hash(new_id, seq, etype, author, int(args["timestamp"]), payload_hash)
        head = next_head(head, eh)
        entries.append(
            {
                "seq": seq,
                "type": etype.name,
                "author": author,
                "timestamp": int(args["timestamp"]),
                "payload": {n: payload_json(t, args[n]) for n, t in fields},
                "head": to_hex(head),
            }
        )
    return entries, head


_SAME_FIELDS = (
    "sponsor", "locked", "protocol_version", "consent_version", "entry_count", "head",
    "protocol_hash", "outcomes_hash", "registered_block", "ethics_count", "outcome_reports",
    "outcome_mismatches", "ethics_threshold", "board_epoch", "amended_outcomes_hash",
)  # fmt: skip


def verify_move(
    old: TrialsClient, new: TrialsClient, old_id: int, new_id: int, members: list[str]
) -> MoveReport:
    """Check the imported trial against the original: every answer identical (record, status
    before the move, eligibility, each member's roles, registry-id lookup), and one timeline
    from the predecessor's genesis through `Moved` to the successor's current head."""
    fail = TrialMigrationError
    if int(new.call("importedFrom", int(new_id))) != int(old_id):
        raise fail(f"trial {new_id} of {new.address} was not imported from trial {old_id}")
    before, after = old.trial(old_id), new.trial(new_id)
    handed = old.call("handOver", int(old_id))
    if before.status != TrialStatus.MOVED:
        raise fail(f"trial {old_id} of {old.address} is {before.status.name}, not MOVED")
    checked = ["status"]
    # The successor may have added entries since the import: compare the record as imported.
    log = old.export(old_id)
    # verify_log on its own, then against the predecessor's stored head and count.
    old_report = old.verify(log)
    if log["entries"][-1]["type"] != EntryType.Moved.name:
        raise fail(f"trial {old_id}'s last entry is {log['entries'][-1]['type']}, not Moved")
    checked.append(f"old timeline: {old_report.entry_count} entries verified against the chain")
    entries, head = continued_entries(
        new, new_id, bytes.fromhex(log["head"][2:]), len(log["entries"])
    )
    head_now, count_now = new.chain_head(new_id)
    if head != head_now or len(log["entries"]) + len(entries) != count_now:
        raise fail(
            f"the timeline breaks at the move: chaining {len(entries)} entries of trial {new_id} "
            f"on from the predecessor's head gives {to_hex(head)}, the successor stores "
            f"{to_hex(head_now)} ({count_now} entries)"
        )
    checked.append(f"new timeline: {len(entries)} entries continue from the Moved head")
    if not entries:
        # Untouched since the import: every field must be identical (status: as before the move).
        for name in _SAME_FIELDS:
            if getattr(before, name) != getattr(after, name):
                raise fail(
                    f"trial {new_id}: {name} is {getattr(after, name)}, was {getattr(before, name)}"
                )
        if int(after.status) != int(handed[1]):
            raise fail(
                f"trial {new_id}: status {after.status.name}, was {TrialStatus(int(handed[1])).name}"
            )
        checked.append("record")
    if old.eligibility(old_id) != new.eligibility(new_id):
        raise fail(f"trial {new_id}: eligibility settings differ from trial {old_id}'s")
    checked.append("eligibility")
    for account in members:
        word_old = int(old.call("memberWord", int(old_id), account))
        word_new = int(new.call("memberWord", int(new_id), account))
        if not entries and word_old != word_new:
            raise fail(f"trial {new_id}: roles of {account} differ from trial {old_id}'s")
    checked.append(f"roles of {len(members)} accounts")
    registry_id = _registry_id(old, old_id)
    if int(new.call("trialIdOf", after.sponsor, registry_id)) != int(new_id):
        raise fail(f"trial {new_id}: trialIdOf(sponsor, registryId) does not answer it")
    checked.append("trialIdOf")
    return MoveReport(
        old_id=int(old_id),
        new_id=int(new_id),
        members=list(members),
        entries_before=len(log["entries"]),
        entries_after=len(entries),
        head=to_hex(head_now),
        checked=checked,
    )


def move_status(old: TrialsClient, trial_id: int) -> dict[str, Any]:
    """Where the trial stands: pending move, successor (JSON-ready)."""
    return {
        "trialId": int(trial_id),
        "pendingMove": _lower(old.call("pendingMove", int(trial_id))),
        "successor": _lower(old.call("successorOf", int(trial_id))),
    }
