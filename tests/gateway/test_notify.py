"""Notifications on the gateway's anvil chain: a receiver on loopback (http.server) refuses
the first deliveries of each notification with 500 and accepts the next; the deliverer is
restarted (a new process: `medchain gateway deliver --once`) in between; every body is
signed (HMAC-SHA256, per-subscription secret) and each notification is accepted exactly
once. A reorg cancels the undelivered notifications of the events it undoes. Recall and
licence-key rules on the supply and genomics demos' events."""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from support import BIN
from support.gateway import Receiver

pytestmark = pytest.mark.anvil
REFUSALS = 2  # the receiver answers 500 to the first REFUSALS deliveries of each id


@pytest.fixture
def receiver():
    r = Receiver(REFUSALS)
    yield r
    r.close()


def _break_glass(env: dict[str, Any], indexer: Any) -> int:
    """Provider requests emergency access to the patient; two approvers activate it."""
    chain, keys = env["gateway"].chain, env["keys"]
    chain.send(keys["provider"], "ConsentRegistry", "requestBreakGlass", env["patient"],
               b"\x11" * 32, 3600)  # fmt: skip
    indexer.sync()
    episode = int(indexer.events("BreakGlassRequested")[-1]["args"]["episodeId"])
    for approver in ("approver1", "approver2"):
        chain.send(keys[approver], "ConsentRegistry", "approveBreakGlass", episode)
    return episode


def _referral(env: dict[str, Any]) -> str:
    from medchain.keystore import public_bytes
    from medchain.records import Recipient

    roles, patient = env["roles"], env["patient"]
    body = {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
            "subject": {"reference": f"Patient/{patient}"},
            "code": {"text": "cardiology referral"}}  # fmt: skip
    recipients = [Recipient(str(roles[r].address), public_bytes(env["x25519"][r]), r)
                  for r in ("patient", "provider")]  # fmt: skip
    put = env["records"].put(json.dumps(body).encode(), patient=patient, scope="ServiceRequest",
                             recipients=recipients, sender=roles["patient"])  # fmt: skip
    return "0x" + put.record_id.hex()


def _deliver_cli(db: Path) -> dict[str, Any]:
    done = subprocess.run(
        [str(BIN / "medchain"), "gateway", "deliver", "--db", f"sqlite:///{db}", "--once",
         "--base-delay", "0.3", "--max-delay", "2", "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_delivered_until_acknowledged_across_a_restart_and_signed(env, receiver):
    from fhir.resources.R4B.bundle import Bundle

    from medchain.indexer import Indexer
    from medchain.notify import Deliverer, subscribe, verify

    db = env["tmp"] / "notify.db"
    indexer = Indexer.for_book(env["web3"], env["book"], f"sqlite:///{db}")
    provider, patient = str(env["roles"]["provider"].address), env["patient"]
    sub_provider = subscribe(indexer.engine, env["did"]["provider"], receiver.url, ["referral"])
    sub_patient = subscribe(indexer.engine, patient, receiver.url, ["break-glass"],
                            secret="patient-webhook-secret-0123456789")  # fmt: skip
    secrets = {sub_provider["id"]: sub_provider["secret"], sub_patient["id"]: sub_patient["secret"]}
    record = _referral(env)
    episode = _break_glass(env, indexer)
    indexer.sync()
    with indexer.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT subscription_id, kind FROM outbox").all()
    assert sorted(rows) == [(sub_provider["id"], "referral"), (sub_patient["id"], "break-glass")]

    first = Deliverer(indexer.engine, base_delay=0.3, max_delay=2)
    report = first.run_once()
    assert (report.attempted, report.delivered, report.retried) == (2, 0, 2)
    first.close()  # the deliverer stops; a new process takes over below
    deadline = time.monotonic() + 60
    while True:
        time.sleep(0.35)
        state = _deliver_cli(db)
        if state["pending"] == 0:
            break
        assert time.monotonic() < deadline, f"still pending: {state}"

    by_id = Counter(r["delivery"] for r in receiver.requests)
    assert sorted(by_id.values()) == [REFUSALS + 1, REFUSALS + 1]  # as many as refused + 1
    accepted = [r for r in receiver.requests if r["status"] == 200]
    assert len(accepted) == 2 and len({r["delivery"] for r in accepted}) == 2
    topics = {}
    for request in receiver.requests:
        bundle = json.loads(request["body"])
        Bundle.model_validate(bundle)  # a valid FHIR R4(B) Bundle
        params = {p["name"]: p for p in bundle["entry"][0]["resource"]["parameter"]}
        sub_id = int(params["subscription"]["valueReference"]["reference"].split("/")[1])
        assert verify(secrets[sub_id], request["headers"], request["body"])
        assert not verify("another-secret-0123456789", request["headers"], request["body"])
        assert not verify(secrets[sub_id], request["headers"], request["body"] + b" ")
        topics[params["topic"]["valueCanonical"]] = (
            params["recipient"]["valueString"],
            params["notification-event"]["part"][1]["valueReference"]["reference"],
        )
    assert topics == {
        "urn:medchain:topic:referral": (provider, f"ServiceRequest/{record}"),
        "urn:medchain:topic:break-glass": (patient, f"episode/{episode}"),
    }
    for delivery in by_id:  # backoff: each retry waited at least base_delay * 2**(n-1)
        times = [r["at"] for r in receiver.requests if r["delivery"] == delivery]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert gaps[0] >= 0.3 * 0.9 and gaps[1] >= 0.6 * 0.9, gaps
    with indexer.engine.connect() as conn:
        attempts = conn.exec_driver_sql("SELECT attempts FROM outbox WHERE delivered IS NOT NULL")
        assert sorted(a for (a,) in attempts) == [REFUSALS + 1, REFUSALS + 1]


def test_reorg_cancels_undelivered_notifications(env, receiver):
    from eth_utils import to_checksum_address

    from medchain.codec import scope_code
    from medchain.indexer import Indexer
    from medchain.notify import Deliverer, subscribe

    indexer = Indexer.for_book(env["web3"], env["book"], f"sqlite:///{env['tmp'] / 'reorg-n.db'}")
    indexer.sync()  # history first: a subscription gets the events indexed after it
    subscribe(indexer.engine, env["patient"], receiver.url, ["*"])
    web3 = env["web3"]
    snapshot = web3.provider.make_request("evm_snapshot", [])["result"]
    _break_glass(env, indexer)
    indexer.sync()
    assert Deliverer(indexer.engine).pending() == 1
    assert web3.provider.make_request("evm_revert", [snapshot])["result"] is True
    for i in range(6):  # other blocks at the same heights
        grantee = to_checksum_address((i + 7000).to_bytes(20, "big"))
        env["gateway"].chain.send(env["keys"]["patient"], "ConsentRegistry", "grant",
                                  env["patient"], grantee, scope_code("Observation"), 1, 1, 0,
                                  2**40 - 1)  # fmt: skip
    report = indexer.sync()
    assert report.reorged_from is not None
    deliverer = Deliverer(indexer.engine)
    assert deliverer.pending() == 0
    assert deliverer.run_once().attempted == 0 and receiver.requests == []


def test_recall_and_licence_key_notify_holders_and_researcher(env, receiver):
    from rich.console import Console

    from medchain.demo import DemoContext, fund_roles, steps
    from medchain.indexer import Indexer
    from medchain.notify import Deliverer, subscribe

    receiver.refusals = 0
    roles = env["roles"]
    fund_roles({"deployer": roles["deployer"], "registrar": roles["registrar"]})  # past anvil's 20
    indexer = Indexer.for_book(env["web3"], env["book"], f"sqlite:///{env['tmp'] / 'rules.db'}")
    indexer.sync()
    subs = {role: subscribe(indexer.engine, str(roles[role].address), receiver.url, ["*"])
            for role in ("manufacturer", "wholesaler", "pharmacy", "researcher", "lab")}  # fmt: skip
    ctx = DemoContext(Console(quiet=True), roles, env["ctx"].contracts, env["book"],
                      store=env["gateway"].store)  # fmt: skip
    for name, run in steps():
        if name in ("supply", "genomics"):
            run(ctx)
    indexer.sync()
    recalls = indexer.events("LotRecalled")
    assert len(recalls) == 1
    recaller = recalls[0]["args"]["actor"]
    with indexer.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT subscription_id, kind FROM outbox").all()
    who = {s["id"]: role for role, s in subs.items()}
    got = sorted((who[s], kind) for s, kind in rows)
    holders = {"manufacturer", "wholesaler", "pharmacy"} - {
        r for r in ("manufacturer", "wholesaler", "pharmacy") if roles[r].address == recaller
    }
    assert got == sorted([(h, "recall") for h in holders] + [("researcher", "licence-key")])
    deliverer = Deliverer(indexer.engine)
    assert deliverer.run_once().delivered == len(rows)
    assert len(receiver.requests) == len(rows)


def test_killed_indexer_neither_loses_nor_invents_notifications(env, receiver):
    """SIGKILL `medchain index run` mid-stream, run it again: one outbox row per indexed
    BreakGlassActivated of the subscribed patient, none missing, none twice."""
    import signal
    import sqlite3

    from medchain.logs import reader_for_book
    from medchain.notify import subscribe

    db = env["tmp"] / "crash.db"
    subscribe(f"sqlite:///{db}", env["patient"], receiver.url, ["break-glass"])
    indexer_cmd = [str(BIN / "medchain"), "index", "run", "--network", env["uri"], "--book",
                   str(env["book"].path), "--db", f"sqlite:///{db}", "--no-deliver"]  # fmt: skip
    truth = reader_for_book(env["web3"], env["book"]).read(0)
    activations = [e for e in truth if e.name == "BreakGlassActivated"]
    assert activations  # from the first test (the reorg test undid its own)
    follower = subprocess.Popen(
        [*indexer_cmd, "--window", "1", "--max-window", "1", "--poll", "0.05"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def count() -> int:
        with sqlite3.connect(db) as conn:
            try:
                return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
            except sqlite3.OperationalError:
                return 0

    try:
        deadline = time.monotonic() + 90
        while count() < len(truth) // 2:
            assert follower.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        follower.send_signal(signal.SIGKILL)
        follower.wait(timeout=10)
    finally:
        if follower.poll() is None:
            follower.kill()
    assert count() < len(truth)
    done = subprocess.run([*indexer_cmd, "--once", "--json"], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db) as conn:
        indexed = dict(conn.execute(
            "SELECT id, block_number FROM events WHERE name = 'BreakGlassActivated'"
        ).fetchall())  # fmt: skip
        outbox = [e for (e,) in conn.execute("SELECT event_id FROM outbox")]
    assert sorted(indexed.values()) == [e.block_number for e in activations]
    assert sorted(outbox) == sorted(indexed)  # one row per activation: none lost, none twice
