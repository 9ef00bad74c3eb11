"""TrialRegistry migration (docs/upgrades.md, "TrialRegistry: migration"), on the in-process
chain with real transactions: a trial with enrollments, deviations, adverse events, an approved
amendment and a 2-of-3 board is moved by its own governance and imported into a successor;
every answer and the timeline continue across versions. Then the attacks: a move without the
board's threshold, the sponsor alone, imports of trials not moved here or twice, writes to the
moved trial, an outsider's member list, a move while an amendment is pending."""

from __future__ import annotations

import json
from typing import Any

import ape
import pytest

from medchain.errors import ContractRevert
from medchain.trials import EntryType, Role, TrialsClient, document_hash
from medchain.trials import migrate as mig
from medchain.trials.model import TrialStatus, registry_id_bytes
from support.trials import PROTOCOL_CID, SITE_A, SITE_B, register_trial

H = document_hash
ZERO = "0x" + "00" * 20


@pytest.fixture(scope="module")
def successor(registry: Any, deployer: Any) -> TrialsClient:
    """The next version: a TrialRegistry whose predecessor is the module's registry."""
    return TrialsClient(ape.project.TrialRegistry.deploy(registry.address, sender=deployer))


@pytest.fixture
def board_trial(client, sponsor, ethics, ethics2, ethics3, investigator, investigator2, monitor):
    """A conducted trial, board ethics/ethics2/ethics3 deciding 2 of 3."""
    fx = register_trial(
        client, sponsor, ethics, investigator, investigator2, monitor,
        board=[ethics2, ethics3], threshold=2,
    )  # fmt: skip
    c, tid = client, fx.trial_id
    s1 = c.enroll(tid, SITE_A, "subject-1", sender=investigator)
    s2 = c.enroll(tid, SITE_B, "subject-2", sender=investigator2)
    c.log_deviation(
        tid, SITE_A, "visit 3 out of window", subject=s1.commitment, sender=investigator
    )
    c.log_adverse_event(
        tid, SITE_B, s2.commitment, grade=3, serious=True, report="hospitalised", sender=monitor
    )
    version = c.propose_amendment(
        tid, H(b"protocol v2 " + fx.registry_id.encode()), PROTOCOL_CID, 2, sender=sponsor
    )
    assert not c.approve_amendment(
        tid, version, H(b"protocol v2 " + fx.registry_id.encode()), sender=ethics
    )
    assert c.approve_amendment(
        tid, version, H(b"protocol v2 " + fx.registry_id.encode()), sender=ethics3
    )
    c.reconsent(tid, SITE_A, s1.commitment, consent_version=2, sender=investigator)
    return fx


def _move(c: TrialsClient, tid: int, to: TrialsClient, sponsor, first, second) -> None:
    mig.propose_move(c, tid, to.address, sender=sponsor)
    assert not mig.approve_move(c, tid, to.address, sender=first)
    assert mig.approve_move(c, tid, to.address, sender=second)


def test_move_and_import_keep_every_answer_and_one_timeline(
    board_trial, client, successor, roles, sponsor, ethics, ethics2, ethics3,
    investigator, investigator2, monitor,
):  # fmt: skip
    c, tid = client, board_trial.trial_id
    before = c.trial(tid)
    _move(c, tid, successor, sponsor, ethics, ethics2)
    moved = c.trial(tid)
    assert moved.status == TrialStatus.MOVED
    assert c.call("successorOf", tid).lower() == successor.address.lower()
    last = c.export(tid)["entries"][-1]
    assert (last["type"], last["payload"]["successor"]) == ("Moved", successor.address.lower())
    assert last["author"] == ethics2.address.lower()

    members = mig.members_from_events(c, tid)
    assert set(members) == {
        a.address.lower() for a in (ethics, ethics2, ethics3, investigator, investigator2, monitor)
    }
    new_id = mig.import_trial(successor, c, tid, sender=roles["patient"])  # anyone may import
    assert successor.call("importedFrom", new_id) == tid
    assert successor.call("importedAs", tid) == new_id
    after = successor.trial(new_id)
    for name in mig._SAME_FIELDS:
        assert getattr(after, name) == getattr(moved, name), name
    assert after.status == before.status == TrialStatus.ACTIVE
    assert (after.protocol_version, after.consent_version) == (2, 2)
    for account, role, site in [
        (ethics, Role.ETHICS, 0), (ethics2, Role.ETHICS, 0), (ethics3, Role.ETHICS, 0),
        (investigator, Role.INVESTIGATOR, SITE_A), (investigator2, Role.INVESTIGATOR, SITE_B),
        (monitor, Role.MONITOR, 0), (investigator, Role.INVESTIGATOR, SITE_B),
        (sponsor, Role.ETHICS, 0), (monitor, Role.ETHICS, 0),
    ]:  # fmt: skip
        assert successor.has_role(new_id, account, role, site) == c.has_role(
            tid, account, role, site
        )
    key = registry_id_bytes(board_trial.registry_id)
    assert successor.call("trialIdOf", sponsor, key) == new_id
    assert c.call("trialIdOf", sponsor, key) == tid  # the old lookup keeps answering too
    report = mig.verify_move(c, successor, tid, new_id, members)
    assert report.entries_after == 0 and report.entries_before == moved.entry_count

    # Conduct continues in the successor; the first new entry links to the Moved head.
    s3 = successor.enroll(new_id, SITE_A, "subject-3", sender=investigator)
    successor.log_adverse_event(
        new_id, SITE_A, s3.commitment, grade=2, serious=False, report="rash", sender=investigator
    )
    assert not successor.revoke_role(new_id, ethics3, Role.ETHICS, sender=ethics)  # 2 of 3 still
    assert successor.revoke_role(new_id, ethics3, Role.ETHICS, sender=ethics2)
    entries, head = mig.continued_entries(
        successor, new_id, bytes.fromhex(moved.head[2:]), moved.entry_count
    )
    assert [e["type"] for e in entries] == [
        "Enrolled", "AdverseEventLogged", "EthicsVoteCast", "RoleRevoked",
    ]  # fmt: skip
    assert entries[0]["seq"] == moved.entry_count
    assert successor.chain_head(new_id) == (head, moved.entry_count + 4)
    report = mig.verify_move(c, successor, tid, new_id, members)
    assert report.entries_after == 4 and report.head == "0x" + head.hex()
    # The old registry still answers every read as at the move.
    assert c.trial(tid) == moved
    assert c.has_role(tid, ethics3, Role.ETHICS)


def test_writes_to_a_moved_trial_name_the_successor(
    board_trial, client, successor, sponsor, ethics, ethics2, investigator, monitor
):
    c, tid = client, board_trial.trial_id
    _move(c, tid, successor, sponsor, ethics, ethics2)
    k = c.contract
    refused = dict(trialId=tid, successor=successor.address)
    attempts = [
        (lambda: k.enroll(tid, H(b"s9"), SITE_A, 2, sender=investigator)),
        (lambda: k.reconsent(tid, H(b"s9"), SITE_A, 2, sender=investigator)),
        (lambda: k.withdrawSubject(tid, H(b"s9"), SITE_A, H(b"r"), sender=investigator)),
        (lambda: k.logDeviation(tid, SITE_A, H(b"s9"), True, H(b"d"), sender=monitor)),
        (lambda: k.logAdverseEvent(tid, SITE_A, H(b"s9"), 3, H(b"d"), sender=monitor)),
        (lambda: k.grantRole(tid, monitor, int(Role.INVESTIGATOR), 7, sender=sponsor)),
        (lambda: k.revokeRole(tid, monitor, int(Role.MONITOR), 0, sender=sponsor)),
        (lambda: k.proposeAmendment(tid, H(b"v3"), PROTOCOL_CID, 3, bytes(32), sender=sponsor)),
        (lambda: k.suspend(tid, H(b"r"), sender=ethics)),
        (lambda: k.terminate(tid, H(b"r"), sender=ethics)),
        (lambda: k.lockData(tid, H(b"ds"), PROTOCOL_CID, sender=sponsor)),
        (lambda: k.fileFinalReport(tid, H(b"fr"), PROTOCOL_CID, sender=sponsor)),
        (lambda: k.requireEligibility(tid, monitor, monitor, 1, sender=sponsor)),
        (lambda: k.proposeMove(tid, successor.address, sender=sponsor)),
        (lambda: k.approveMove(tid, successor.address, sender=ethics)),
    ]
    for attempt in attempts:
        with ape.reverts(k.TrialMoved, **refused):
            attempt()
    # The SDK's refusal is one line naming the successor.
    with pytest.raises(ContractRevert) as err:
        c.enroll(tid, SITE_A, "subject-9", consent_version=2, sender=investigator)
    assert "TrialMoved" in str(err.value) and "\n" not in str(err.value)


def test_the_sponsor_alone_or_one_member_cannot_move(
    board_trial, client, successor, roles, sponsor, ethics, ethics2
):
    c, tid, k = client, board_trial.trial_id, client.contract
    outsider = roles["patient"]
    with ape.reverts(k.TrialNotSponsor, account=ethics.address):
        k.proposeMove(tid, successor.address, sender=ethics)  # the board cannot propose
    with ape.reverts(k.TrialNoSuchMove, successor=successor.address):
        k.approveMove(tid, successor.address, sender=ethics)  # nothing proposed yet
    mig.propose_move(c, tid, successor.address, sender=sponsor)
    with ape.reverts(k.TrialNotEthicsBoard, account=sponsor.address):
        k.approveMove(tid, successor.address, sender=sponsor)
    with ape.reverts(k.TrialNotEthicsBoard, account=outsider.address):
        k.approveMove(tid, successor.address, sender=outsider)
    assert not mig.approve_move(c, tid, successor.address, sender=ethics)
    with ape.reverts(k.TrialEthicsVoteRepeated, member=ethics.address, motion=int(EntryType.Moved)):
        k.approveMove(tid, successor.address, sender=ethics)  # one member, one vote
    assert c.ethics_votes(tid, EntryType.Moved, account=successor.address, member=ethics) == (
        1,
        True,
    )
    assert c.trial(tid).status == TrialStatus.ACTIVE
    # Not moved: nothing to import.
    with ape.reverts(successor.contract.TrialNotMovedHere, oldId=tid, successor=ZERO):
        successor.contract.importTrial(
            tid, registry_id_bytes(board_trial.registry_id), [], sender=outsider
        )
    # The sponsor withdraws; a new proposal starts the count afresh (the old vote is void).
    mig.withdraw_move(c, tid, successor.address, sender=sponsor)
    assert c.call("pendingMove", tid) == ZERO
    mig.propose_move(c, tid, successor.address, sender=sponsor)
    assert not mig.approve_move(c, tid, successor.address, sender=ethics)
    assert c.trial(tid).status == TrialStatus.ACTIVE
    assert mig.approve_move(c, tid, successor.address, sender=ethics2)
    assert c.trial(tid).status == TrialStatus.MOVED


def test_move_and_amendment_exclude_each_other_and_bad_successors(
    board_trial, client, successor, registry, deployer, sponsor, ethics, ethics2
):
    c, tid, k = client, board_trial.trial_id, client.contract
    # A successor that cannot import from this registry would strand the trial.
    unrelated = ape.project.TrialRegistry.deploy(ZERO, sender=deployer)
    for bad in (unrelated.address, ethics.address, registry.address, ZERO):
        with ape.reverts(k.TrialInvalidSuccessor, successor=bad):
            k.proposeMove(tid, bad, sender=sponsor)
    v3 = H(b"protocol v3 " + board_trial.registry_id.encode())
    version = c.propose_amendment(tid, v3, PROTOCOL_CID, 3, sender=sponsor)
    with ape.reverts(k.TrialAmendmentPending, version=version):
        k.proposeMove(tid, successor.address, sender=sponsor)
    c.withdraw_amendment(tid, version, v3, sender=sponsor)
    mig.propose_move(c, tid, successor.address, sender=sponsor)
    with ape.reverts(k.TrialMovePending, successor=successor.address):
        k.proposeAmendment(tid, v3, PROTOCOL_CID, 3, bytes(32), sender=sponsor)
    with ape.reverts(k.TrialMovePending, successor=successor.address):
        k.proposeMove(tid, successor.address, sender=sponsor)
    # No amendment can match while the move is pending.
    with ape.reverts(k.TrialNoSuchAmendment):
        k.approveAmendment(tid, 0, bytes(32), sender=ethics)
    assert mig.approve_move(c, tid, successor.address, sender=ethics) is False
    assert mig.approve_move(c, tid, successor.address, sender=ethics2) is True


def test_import_attacks(
    board_trial, client, successor, registry, deployer, roles, sponsor, ethics, ethics2,
    ethics3, investigator, investigator2, monitor,
):  # fmt: skip
    c, tid = client, board_trial.trial_id
    s, k = successor.contract, client.contract
    outsider = roles["patient"]
    key = registry_id_bytes(board_trial.registry_id)
    board = [ethics.address, ethics2.address, ethics3.address]
    # A first version imports nothing.
    with ape.reverts(k.TrialNoPredecessor):
        k.importTrial(tid, key, board, sender=outsider)
    # A trial moved to another version is not importable here.
    other = TrialsClient(ape.project.TrialRegistry.deploy(registry.address, sender=deployer))
    _move(c, tid, other, sponsor, ethics, ethics2)
    with ape.reverts(s.TrialNotMovedHere, oldId=tid, successor=other.address):
        s.importTrial(tid, key, board, sender=outsider)
    with pytest.raises(mig.TrialNotMovable, match="moved to"):
        mig.import_trial(successor, c, tid, sender=outsider)
    # Into the right version: a wrong registry id is refused (it keeps trialIdOf honest) ...
    with ape.reverts(other.contract.TrialRegistryIdMismatch, oldId=tid):
        other.contract.importTrial(tid, registry_id_bytes("NCT99999999"), board, sender=outsider)
    # ... so is a list that leaves out part of the board (its k-of-n could never decide again) ...
    with ape.reverts(other.contract.TrialIncompleteBoard, listed=2, members=3):
        other.contract.importTrial(tid, key, [*board[:2], board[0]], sender=outsider)
    # ... and an outsider listing itself and the sponsor gains no role: words come from the
    # predecessor, the list only chooses whose.
    intruders = [outsider.address, sponsor.address, outsider.address]
    other.contract.importTrial(tid, key, board + intruders, sender=outsider)
    new_id = int(other.call("importedAs", tid))
    for account in (outsider, sponsor):
        for role, site in ((Role.ETHICS, 0), (Role.MONITOR, 0), (Role.INVESTIGATOR, SITE_A)):
            assert not other.has_role(new_id, account, role, site)
        assert int(other.call("memberWord", new_id, account)) == 0
    # Site staff left out by a hostile importer are the sponsor's to re-grant.
    assert not other.has_role(new_id, investigator, Role.INVESTIGATOR, SITE_A)
    other.grant_role(new_id, investigator, Role.INVESTIGATOR, SITE_A, sender=sponsor)
    # Twice: refused, whoever lists whatever.
    with ape.reverts(other.contract.TrialAlreadyImported, oldId=tid, trialId=new_id):
        other.contract.importTrial(tid, key, board, sender=sponsor)
    with pytest.raises(mig.TrialNotMovable, match="already imported"):
        mig.import_trial(other, c, tid, sender=sponsor)
    # A sponsor who re-registered the same registry id in the new version blocks only itself.
    assert other.call("trialIdOf", sponsor, key) == new_id


def test_imported_trial_can_move_again(
    board_trial, client, successor, deployer, roles, sponsor, ethics, ethics2, ethics3
):
    """A chain of versions: v1 -> v2 -> v3, one timeline, members gathered across versions."""
    c, tid = client, board_trial.trial_id
    _move(c, tid, successor, sponsor, ethics, ethics2)
    v2_id = mig.import_trial(successor, c, tid, sender=roles["patient"])
    v3 = TrialsClient(ape.project.TrialRegistry.deploy(successor.address, sender=deployer))
    _move(successor, v2_id, v3, sponsor, ethics3, ethics)
    members = mig.members_from_events(successor, v2_id)
    assert ethics3.address.lower() in members
    v3_id = mig.import_trial(v3, successor, v2_id, sender=roles["patient"])
    assert v3.chain_head(v3_id) == successor.chain_head(v2_id)
    assert v3.trial(v3_id).head == successor.trial(v2_id).head
    assert v3.call("trialIdOf", sponsor, registry_id_bytes(board_trial.registry_id)) == v3_id


def test_move_and_import_from_the_command_line(
    client, successor, sponsor, ethics, investigator, investigator2, monitor, monkeypatch, tmp_path
):
    """`medchain trial move` (propose, approve) and `medchain trial import` with --json (TEST::8
    is the sponsor, TEST::12 the ethics board, TEST::11 the monitor, as in test_trial_cli.py); a
    second import fails in one line, without a traceback."""
    from click.testing import CliRunner

    from medchain.cli import cli

    monkeypatch.setenv("MEDCHAIN_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner(mix_stderr=False)
    net = ["--network", "ethereum:local:test"]
    fx = register_trial(client, sponsor, ethics, investigator, investigator2, monitor)
    tid, old, new = fx.trial_id, client.address, successor.address

    def run(*args: str, account: str) -> Any:
        return runner.invoke(cli, ["trial", *args, *net, "--account", account, "--json"])

    def ok(result: Any) -> dict[str, Any]:
        assert result.exit_code == 0, result.output + (result.stderr or "")
        return json.loads(result.stdout)

    proposed = ok(run("move", str(tid), new, "--registry", old, account="TEST::8"))
    assert (proposed["action"], proposed["done"]) == ("propose", True)
    with_board = ok(run("move", str(tid), new, "--approve", "--registry", old, account="TEST::12"))
    assert with_board["done"] is True and client.trial(tid).status == TrialStatus.MOVED
    imported = ok(run("import", str(tid), "--from", old, "--registry", new, account="TEST::11"))
    assert successor.call("importedFrom", imported["new_id"]) == tid
    assert imported["entries_before"] == client.trial(tid).entry_count
    assert imported["entries_after"] == 0
    again = run("import", str(tid), "--from", old, "--registry", new, account="TEST::11")
    assert again.exit_code != 0
    message = again.stderr.strip()
    assert "already imported" in message and "\n" not in message and "Traceback" not in message
