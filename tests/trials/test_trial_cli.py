"""`medchain trial ...` end to end on the in-process chain: register, roles, amendment with
ethics approval, enrollment (salt kept in a file), deviation, serious adverse event,
suspension refusing enrollment in one line, lock, a switched outcome report, export and
verify; a tampered export fails verification with the entry named."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from medchain.cli import cli

NET = ["--network", "ethereum:local:test"]
SPONSOR, INV, INV2, MONITOR, ETHICS = "TEST::8", "TEST::9", "TEST::10", "TEST::11", "TEST::12"


@pytest.fixture
def run(registry, monkeypatch, tmp_path):
    monkeypatch.setenv("MEDCHAIN_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner(mix_stderr=False)

    def invoke(*args: str, account: str | None = None):
        extra = ["--account", account] if account else []
        return runner.invoke(cli, ["trial", *args, *NET, "--registry", registry.address, *extra])

    return invoke


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
    _ok(run("role", tid, monitor.address, "--role", "monitor", account=SPONSOR))

    v2 = tmp_path / "protocol-v2.pdf"
    v2.write_bytes(b"%PDF protocol v2")
    amended = _ok(
        run(
            "amend", tid, "--protocol", str(v2), "--consent-version", "2", "--json", account=SPONSOR
        )
    )
    assert json.loads(amended.stdout)["version"] == 2
    refused = run("approve", tid, "2", "--protocol", str(v2), account=SPONSOR)
    assert refused.exit_code == 1 and "NotEthicsBoard" in refused.stderr
    _ok(run("approve", tid, "2", "--protocol", str(v2), account=ETHICS))

    a = _ok(run("enroll", tid, "--site", "101", "--subject", "A-001", "--json", account=INV))
    saved = json.loads((tmp_path / "A-001.subject.json").read_text())
    commitment = json.loads(a.stdout)["commitment"]
    assert saved["commitment"] == commitment and len(bytes.fromhex(saved["salt"][2:])) == 32
    _ok(run("enroll", tid, "--site", "202", "--subject", "B-001", account=INV2))
    _ok(run("deviation", tid, "--site", "101", "--subject", commitment, "--description",
            "visit 3 outside window", "--important", account=MONITOR))  # fmt: skip
    _ok(run("adverse-event", tid, "--site", "101", "--subject", commitment, "--grade", "4",
            "--serious", "--report", "hospitalised, pneumonia", account=INV))  # fmt: skip

    _ok(run("suspend", tid, "--reason", "DSMB safety review", account=ETHICS))
    blocked = run("enroll", tid, "--site", "101", "--subject", "A-002", account=INV)
    assert blocked.exit_code == 1
    assert blocked.stderr.startswith("error:") and "TrialSuspended" in blocked.stderr
    assert len(blocked.stderr.strip().splitlines()) == 1
    _ok(run("resume", tid, account=ETHICS))

    dataset = tmp_path / "dataset.enc"
    dataset.write_bytes(b"encrypted dataset")
    _ok(run("lock", tid, "--dataset", str(dataset), account=SPONSOR))
    switched = tmp_path / "switched.json"
    switched.write_text(json.dumps({"primary": ["ICU stay"], "secondary": ["28-day mortality"]}))
    reported = _ok(
        run("report", tid, "--outcomes", str(switched), "--results", str(dataset), account=SPONSOR)
    )
    assert "OUTCOME MISMATCH" in reported.stdout

    shown = json.loads(_ok(run("show", tid, "--json")).stdout)
    assert shown["outcome_mismatches"] == 1 and shown["protocol_version"] == 2

    _ok(run("export", tid, "--out", "log.json", "--batch-blocks", "4"))
    verified = json.loads(_ok(run("verify", "log.json", "--json")).stdout)
    assert verified["checked_against_chain"] and verified["serious_adverse_events"] == 1
    assert verified["enrollments"] == 2 and len(verified["outcome_mismatches"]) == 1

    log = json.loads((tmp_path / "log.json").read_text())
    ae = next(e for e in log["entries"] if e["type"] == "ADVERSE_EVENT_LOGGED")
    ae["payload"]["severity"] = 1  # the SAE quietly downgraded
    (tmp_path / "tampered.json").write_text(json.dumps(log))
    bad = run("verify", "tampered.json")
    assert bad.exit_code == 1 and f"entry {ae['seq']}" in bad.stderr and "edited" in bad.stderr
