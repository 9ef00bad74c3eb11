"""`medchain trial ...` end to end on the in-process chain: register, roles, amendment with
ethics approval, enrollment (salt kept in a file), deviation, serious adverse event (texts
as salted commitments, salts in the notes file), suspension refusing enrollment in one line,
lock, a switched outcome report, export with disclosures and verify offline and against the
chain; a tampered export fails verification with the entry named. Enrolling the same subject
twice never destroys the first salt; a 2-of-3 board votes from the command line; every
command answers --json."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from medchain.cli import cli

NET = ["--network", "ethereum:local:test"]
SPONSOR, INV, INV2, MONITOR, ETHICS = "TEST::8", "TEST::9", "TEST::10", "TEST::11", "TEST::12"
ETHICS2, ETHICS3 = "TEST::18", "TEST::19"


@pytest.fixture
def run(registry, monkeypatch, tmp_path):
    monkeypatch.setenv("MEDCHAIN_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner(mix_stderr=False)

    def invoke(*args: str, account: str | None = None, offline: bool = False):
        if offline:  # no node, no registry: `medchain trial verify`
            return runner.invoke(cli, ["trial", *args])
        extra = ["--account", account] if account else []
        return runner.invoke(cli, ["trial", *args, *NET, "--registry", registry.address, *extra])

    return invoke


def _json(result):
    return json.loads(_ok(result).stdout)


def _ok(result):
    assert result.exit_code == 0, result.output + (result.stderr or "")
    return result


def test_trial_lifecycle_from_the_command_line(
    run, tmp_path, ethics, investigator, investigator2, monitor
):
    protocol = tmp_path / "protocol-v1.pdf"
    protocol.write_bytes(b"%PDF protocol v1")
    outcomes = tmp_path / "outcomes.json"
    outcomes.write_text(json.dumps({"primary": ["28-day mortality"], "secondary": ["ICU stay"]}))
    reg = _ok(run("register", "NCT04280705", "--protocol", str(protocol), "--outcomes", str(outcomes),
                  "--ethics", ethics.address, "--json", account=SPONSOR))  # fmt: skip
    tid = str(json.loads(reg.stdout)["trial_id"])
    _ok(
        run(
            "role",
            tid,
            investigator.address,
            "--role",
            "investigator",
            "--site",
            "101",
            account=SPONSOR,
        )
    )
    _ok(
        run(
            "role",
            tid,
            investigator2.address,
            "--role",
            "investigator",
            "--site",
            "202",
            account=SPONSOR,
        )
    )
    role = _json(run("role", tid, monitor.address, "--role", "monitor", "--json", account=SPONSOR))
    assert role["done"] is True

    v2 = tmp_path / "protocol-v2.pdf"
    v2.write_bytes(b"%PDF protocol v2")
    amended = _ok(
        run(
            "amend", tid, "--protocol", str(v2), "--consent-version", "2", "--json", account=SPONSOR
        )
    )
    assert json.loads(amended.stdout)["version"] == 2
    refused = run("approve", tid, "2", "--protocol", str(v2), account=SPONSOR)
    assert refused.exit_code == 1 and "TrialNotEthicsBoard" in refused.stderr
    assert _json(run("approve", tid, "2", "--protocol", str(v2), "--json", account=ETHICS)) == {
        "trial_id": int(tid),
        "version": 2,
        "status": "approved",
    }

    a = _ok(run("enroll", tid, "--site", "101", "--subject", "A-001", "--json", account=INV))
    saved = json.loads((tmp_path / "A-001.subject.json").read_text())
    commitment = json.loads(a.stdout)["commitment"]
    assert saved["commitment"] == commitment and len(bytes.fromhex(saved["salt"][2:])) == 32
    _ok(run("enroll", tid, "--site", "202", "--subject", "B-001", account=INV2))
    dev = _json(run("deviation", tid, "--site", "101", "--subject", commitment, "--description",
                    "visit 3 outside window", "--important", "--json", account=MONITOR))  # fmt: skip
    ae = _json(run("adverse-event", tid, "--site", "101", "--subject", commitment, "--grade", "4",
                   "--serious", "--report", "hospitalised, pneumonia", "--json", account=INV))  # fmt: skip
    notes = tmp_path / f"trial-{tid}.notes.jsonl"
    assert dev["notes"] == ae["notes"] == notes.name
    kept = [json.loads(line) for line in notes.read_text().splitlines()]
    assert [k["commitment"] for k in kept] == [dev["commitment"], ae["commitment"]]
    assert kept[0]["text"] == "visit 3 outside window" and len(kept[0]["salt"]) == 66

    suspended = _json(
        run("suspend", tid, "--reason", "DSMB safety review", "--json", account=ETHICS)
    )
    assert suspended["status"] == "suspended" and suspended["notes"] == notes.name
    blocked = run("enroll", tid, "--site", "101", "--subject", "A-002", account=INV)
    assert blocked.exit_code == 1
    assert blocked.stderr.startswith("error:") and "TrialSuspended" in blocked.stderr
    assert len(blocked.stderr.strip().splitlines()) == 1
    _ok(run("resume", tid, account=ETHICS))

    dataset = tmp_path / "dataset.enc"
    dataset.write_bytes(b"encrypted dataset")
    assert _json(run("lock", tid, "--dataset", str(dataset), "--json", account=SPONSOR))["locked"]
    switched = tmp_path / "switched.json"
    switched.write_text(json.dumps({"primary": ["ICU stay"], "secondary": ["28-day mortality"]}))
    reported = _ok(
        run("report", tid, "--outcomes", str(switched), "--results", str(dataset), account=SPONSOR)
    )
    assert "OUTCOME MISMATCH" in reported.stdout

    shown = json.loads(_ok(run("show", tid, "--json")).stdout)
    assert shown["outcome_mismatches"] == 1 and shown["protocol_version"] == 2

    exported = _json(run("export", tid, "--out", "log.json", "--batch-blocks", "4", "--json",
                         "--disclose", notes.name, "--disclose", "A-001.subject.json"))  # fmt: skip
    assert exported["disclosures"] == 4  # deviation, AE, suspension reason, subject A-001
    assert run("export", tid, "--out", "log.json").exit_code == 1  # never overwrites unasked
    verified = _json(run("verify", "log.json", "--json", offline=True))
    assert not verified["checked_against_chain"] and verified["serious_adverse_events"] == 1
    assert verified["enrollments"] == 2 and len(verified["outcome_mismatches"]) == 1
    assert verified["disclosures_verified"] == 4
    # B-001's file given at verification time opens its commitment too.
    more = _json(run("verify", "log.json", "--disclose", "B-001.subject.json", "--json",
                     offline=True))  # fmt: skip
    assert more["disclosures_verified"] == 5
    on_chain = _json(run("verify-chain", "log.json", "--json"))
    assert on_chain["checked_against_chain"] and on_chain["entry_count"] == verified["entry_count"]
    # the human line is rendered from the same data as the JSON
    offline_line = _ok(run("verify", "log.json", offline=True)).stdout
    assert "verified offline" in offline_line and "1 serious adverse events" in offline_line
    assert "verified against the chain" in _ok(run("verify-chain", "log.json")).stdout

    log = json.loads((tmp_path / "log.json").read_text())
    entry = next(e for e in log["entries"] if e["type"] == "AdverseEventLogged")
    entry["payload"]["severity"] = 1  # the SAE quietly downgraded
    (tmp_path / "tampered.json").write_text(json.dumps(log))
    for bad in (run("verify", "tampered.json", offline=True), run("verify-chain", "tampered.json")):
        assert bad.exit_code == 1 and f"entry {entry['seq']}" in bad.stderr
        assert "edited" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    log = json.loads((tmp_path / "log.json").read_text())
    next(d for d in log["disclosures"] if d.get("text"))["text"] = "visit 3 on time"
    (tmp_path / "forged.json").write_text(json.dumps(log))
    bad = run("verify", "forged.json", offline=True)
    assert bad.exit_code == 1 and "does not hash" in bad.stderr


def test_enrolling_the_same_subject_twice_never_destroys_its_salt(
    run, tmp_path, sponsor, ethics, investigator
):
    """The new-user issue: a second `enroll --subject A-001` enrolled again and overwrote
    A-001.subject.json, losing the first enrollment's salt."""
    protocol = tmp_path / "p.pdf"
    protocol.write_bytes(b"%PDF p")
    outcomes = tmp_path / "o.json"
    outcomes.write_text(json.dumps({"primary": ["mortality"]}))
    tid = str(_json(run("register", "NCT05550001", "--protocol", str(protocol), "--outcomes",
                        str(outcomes), "--ethics", ethics.address, "--json", account=SPONSOR))[
        "trial_id"])  # fmt: skip
    _ok(run("role", tid, investigator.address, "--role", "investigator", "--site", "101",
            account=SPONSOR))  # fmt: skip
    first = _json(run("enroll", tid, "--site", "101", "--subject", "A-001", "--json", account=INV))
    saved = (tmp_path / "A-001.subject.json").read_text()
    entries = _json(run("show", tid, "--json"))["entries"]
    again = run("enroll", tid, "--site", "101", "--subject", "A-001", account=INV)
    assert again.exit_code == 1 and len(again.stderr.strip().splitlines()) == 1
    assert "A-001.subject.json already exists" in again.stderr and "--again" in again.stderr
    assert (tmp_path / "A-001.subject.json").read_text() == saved  # untouched
    assert _json(run("show", tid, "--json"))["entries"] == entries  # nothing sent
    # Asked for explicitly: a second enrollment, its salt in a new file.
    second = _json(run("enroll", tid, "--site", "101", "--subject", "A-001", "--again", "--json",
                       account=INV))  # fmt: skip
    assert second["saved"] == "A-001.subject.2.json" and second["commitment"] != first["commitment"]
    assert (tmp_path / "A-001.subject.json").read_text() == saved
    # A refused transaction leaves no file behind (its commitment never reached the chain).
    refused = run("enroll", tid, "--site", "202", "--subject", "A-002", account=INV)
    assert refused.exit_code == 1 and "TrialNotSiteStaff" in refused.stderr
    assert not (tmp_path / "A-002.subject.json").exists()


def test_two_of_three_board_votes_from_the_command_line(
    run, tmp_path, sponsor, ethics, ethics2, ethics3, roles
):
    protocol = tmp_path / "p.pdf"
    protocol.write_bytes(b"%PDF p")
    outcomes = tmp_path / "o.json"
    outcomes.write_text(json.dumps({"primary": ["mortality"]}))
    reg = _json(run("register", "NCT05550002", "--protocol", str(protocol), "--outcomes",
                    str(outcomes), "--ethics", ethics.address, "--ethics", ethics2.address,
                    "--ethics", ethics3.address, "--json", account=SPONSOR))  # fmt: skip
    tid = str(reg["trial_id"])
    shown = _json(run("show", tid, "--json"))
    assert (shown["ethics_members"], shown["ethics_threshold"]) == (3, 2)
    puppet = roles["patient"].address
    vote = _json(run("role", tid, puppet, "--role", "ethics", "--json", account=ETHICS))
    assert (vote["done"], vote["votes"], vote["threshold"]) == (False, 1, 2)
    human = run("role", tid, ethics3.address, "--role", "ethics", "--revoke", account=ETHICS)
    assert "vote recorded: 1 of 2" in _ok(human).stdout
    repeated = run("role", tid, puppet, "--role", "ethics", account=ETHICS)
    assert repeated.exit_code == 1 and "TrialEthicsVoteRepeated" in repeated.stderr
    assert _json(run("role", tid, puppet, "--role", "ethics", "--json", account=ETHICS2))["done"]
    v2 = tmp_path / "p2.pdf"
    v2.write_bytes(b"%PDF p v2")
    _ok(run("amend", tid, "--protocol", str(v2), "--outcomes", str(outcomes), account=SPONSOR))
    first = _json(run("approve", tid, "2", "--protocol", str(v2), "--json", account=ETHICS3))
    assert (first["status"], first["votes"]) == ("vote recorded", 1)
    assert _json(run("approve", tid, "2", "--protocol", str(v2), "--json", account=ETHICS))[
        "status"] == "approved"  # fmt: skip
