"""Exported trial logs: a clean export verifies on its own and against the chain; every kind
of tampering (edit, omission, reordering, truncation, appended entries, another chain) is
detected with a `LogIntegrityError` that names the first entry that does not match — also
when the tamperer recomputes every head so the file is self-consistent. Disclosures (the salts
and texts behind the log's commitments) verify offline, and a forged one is refused."""

from __future__ import annotations

import copy

import pytest

from medchain.trials import (
    LogIntegrityError,
    NoteCommitment,
    document_hash,
    genesis_head,
    load_log,
    recompute_entry,
    save_log,
    verify_log,
)
from support.trials import SITE_A, SITE_B

H = document_hash


@pytest.fixture(scope="module")
def exported(client, sponsor, ethics, investigator, investigator2, monitor):
    """One trial with a realistic timeline, exported once (tests deep-copy it)."""
    from support.trials import register_trial

    t = register_trial(client, sponsor, ethics, investigator, investigator2, monitor)
    tid = t.trial_id
    a = client.enroll(tid, SITE_A, "A-001", sender=investigator)
    b = client.enroll(tid, SITE_B, "B-001", sender=investigator2)
    deviation = client.log_deviation(
        tid, SITE_A, "visit 3 out of window", subject=a.commitment, sender=monitor
    )
    report = client.log_adverse_event(
        tid,
        SITE_A,
        a.commitment,
        grade=3,
        serious=True,
        report=b"%PDF SAE report: hospitalised",  # a document: disclosed by its hash + salt
        sender=investigator,
    )
    client.enroll(tid, SITE_B, "B-002", sender=investigator2)
    held = [a.to_json(), b.to_json(), deviation.to_json(), report.to_json()]
    # small ranges: several eth_getLogs calls; the sites' salts attached as disclosures
    log = client.export(tid, batch_blocks=3, disclosures=held)
    return client, log


def _rechain(log):
    """What a careful tamperer does: recompute every head and the header after an edit."""
    head = genesis_head(log["chainId"], log["registry"], log["trialId"])
    for index, entry in enumerate(log["entries"]):
        entry["seq"] = index
        head = recompute_entry(log["trialId"], index, head, entry)
        entry["head"] = "0x" + head.hex()
    log["head"] = "0x" + head.hex()
    log["entryCount"] = len(log["entries"])
    return log


def _expect(fn, log, seq, kind):
    with pytest.raises(LogIntegrityError) as err:
        fn(log)
    assert (err.value.seq, err.value.kind) == (seq, kind), str(err.value)
    if seq is not None:
        assert str(seq) in str(err.value)
    return err.value


def test_clean_export_verifies_alone_and_against_chain(exported, tmp_path):
    client, log = exported
    assert len(log["entries"]) == 10
    assert [e["seq"] for e in log["entries"]] == list(range(10))
    report = verify_log(log)
    assert report.enrollments == 3 and report.serious_adverse_events == 1
    assert not report.checked_against_chain
    # A-001, B-001, the deviation text and the SAE report opened; B-002 was not disclosed.
    assert (report.disclosures_verified, report.commitments_undisclosed) == (4, 1)
    path = tmp_path / "trial.json"
    save_log(log, path)
    assert client.verify(load_log(path)).checked_against_chain


def test_edited_entry_named(exported):
    client, log = exported
    bad = copy.deepcopy(log)
    bad["entries"][8]["payload"]["severity"] = 0x01  # SAE downgraded to a mild non-serious AE
    _expect(verify_log, bad, 8, "edited")
    _expect(client.verify, bad, 8, "edited")


def test_edited_entry_with_recomputed_heads_found_against_chain(exported):
    client, log = exported
    bad = copy.deepcopy(log)
    bad["entries"][7]["author"] = bad["entries"][5]["author"]  # deviation re-attributed
    _rechain(bad)
    verify_log(bad)  # self-consistent on its own...
    _expect(client.verify, bad, 7, "edited")  # ...but not what the chain holds


def test_edited_timestamp_named(exported):
    client, log = exported
    bad = copy.deepcopy(log)
    bad["entries"][6]["timestamp"] += 86_400  # enrollment back-dated by a day
    _expect(client.verify, bad, 6, "edited")


def test_reordered_entries_named(exported):
    client, log = exported
    bad = copy.deepcopy(log)
    bad["entries"][5], bad["entries"][6] = bad["entries"][6], bad["entries"][5]
    _expect(verify_log, bad, 5, "reordered")
    _rechain(bad)  # renumbered and re-hashed: only the chain can tell
    _expect(client.verify, bad, 5, "edited")


def test_omitted_entry_named(exported):
    client, log = exported
    bad = copy.deepcopy(log)
    del bad["entries"][8]  # the serious adverse event disappears
    _expect(verify_log, bad, 8, "omitted")
    _expect(client.verify, bad, 8, "omitted")


def test_truncated_log_named(exported):
    client, log = exported
    bad = copy.deepcopy(log)
    del bad["entries"][7:]
    _expect(verify_log, bad, 7, "truncated")
    _rechain(bad)  # header rewritten to the shorter log
    _expect(verify_log, bad, None, "disclosure")  # the notes of entries 7, 8 open nothing now
    bad["disclosures"] = [d for d in bad["disclosures"] if d["kind"] == "subject"]
    verify_log(bad)
    _expect(client.verify, bad, 7, "truncated")


def test_appended_entry_named(exported):
    client, log = exported
    bad = copy.deepcopy(log)
    bad["entries"].append(copy.deepcopy(bad["entries"][5]))
    _rechain(bad)
    _expect(client.verify, bad, 10, "extra")


def test_log_of_another_registry_refused(exported):
    client, log = exported
    bad = copy.deepcopy(log)
    bad["registry"] = "0x" + "11" * 20
    _expect(client.verify, bad, None, "foreign")
    _expect(verify_log, bad, None, "foreign")  # its genesis head no longer matches


def test_export_in_one_range_equals_export_in_many(exported):
    client, log = exported
    again = client.export(log["trialId"], batch_blocks=1_000_000)
    assert again["entries"] == log["entries"]


def test_export_as_of_a_block_and_a_stale_log(
    client, sponsor, ethics, investigator, investigator2, monitor, chain
):
    from support.trials import register_trial

    t = register_trial(client, sponsor, ethics, investigator, investigator2, monitor)
    client.enroll(t.trial_id, SITE_A, "A-1", sender=investigator)
    block = chain.blocks.head.number
    client.enroll(t.trial_id, SITE_A, "A-2", sender=investigator)
    earlier = client.export(t.trial_id, to_block=block)  # consistent snapshot at that block
    assert len(earlier["entries"]) == earlier["entryCount"] == 6
    verify_log(earlier)
    err = _expect(client.verify, earlier, 6, "truncated")  # the chain has moved on
    assert "exported before" in str(err)


def test_forged_disclosure_refused_offline(exported):
    """A disclosure is checked against the commitment on chain: a changed text, a salt that
    does not open the commitment, or a record for a commitment the log lacks is refused."""
    _, log = exported
    note = next(d for d in log["disclosures"] if d.get("text"))
    bad = copy.deepcopy(log)
    next(d for d in bad["disclosures"] if d.get("text"))["text"] = "visit 3 on time"
    _expect(verify_log, bad, None, "disclosure")
    forged = NoteCommitment.create(log["trialId"], "visit 3 on time", bytes(32))
    bad = copy.deepcopy(log)
    entry = next(d for d in bad["disclosures"] if d.get("text"))
    entry.update(
        text="visit 3 on time", contentHash="0x" + forged.content_hash.hex(), salt="0x" + "00" * 32
    )
    _expect(verify_log, bad, None, "disclosure")  # opens another commitment, not this one
    bad = copy.deepcopy(log)
    bad["disclosures"].append(NoteCommitment.create(log["trialId"], "invented").to_json())
    _expect(verify_log, bad, None, "disclosure")  # commits to nothing in the log
    bad = copy.deepcopy(log)
    subject = next(d for d in bad["disclosures"] if d["kind"] == "subject")
    subject["pseudonym"] = "A-999"
    _expect(verify_log, bad, None, "disclosure")
    assert note["commitment"] != "0x" + H(note["text"].encode()).hex()
