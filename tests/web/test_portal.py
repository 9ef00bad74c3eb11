"""The web portal (web/) in a real browser against a real chain: anvil started here, every
contract deployed and the demo's identity/records/consent data seeded (`ape run demo`),
the portal built with Vite and served by `vite preview` (address book read at run time,
/rpc forwarded to anvil), and Debian's Chromium driven by playwright-core
(web/tests/portal.mjs, one step per call). Between the browser steps the chain is asked
through the Python SDK (ConsentClient), so what the page says is checked against what the
contracts answer. Screenshots of every page at desktop and phone width go to
web/test-results/screenshots/ (git-ignored)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from support import BIN, ROOT
from support.anvil import SDK_CHAIN_ID, anvil, free_port, wait_for_port

WEB = ROOT / "web"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = WEB / "test-results" / "screenshots"
# anvil test accounts (HD index = medchain.demo.ROLES index)
PATIENT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # 1
PROVIDER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"  # 2 (CLINICIAN_ROLE after the deploy)
RESEARCHER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"  # 3
SCOPE = "category:laboratory"

pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: tools/bootstrap.sh installs Debian's chromium")
    if not (WEB / "node_modules" / "playwright-core").is_dir():
        pytest.fail("web/node_modules is missing: tools/bootstrap.sh runs npm ci in web/")
    home = tmp_path_factory.mktemp("portal")
    env = {
        **os.environ,
        "MEDCHAIN_HOME": str(home / "home"),
        "MEDCHAIN_DEPLOYMENTS": str(home / "deployments"),
    }
    with anvil("--accounts", "20", "--chain-id", str(SDK_CHAIN_ID)) as uri:
        demo = subprocess.run(
            [str(BIN / "ape"), "run", "demo", "--only", "identity", "--only", "records",
             "--only", "consent", "--network", uri],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
        book = home / "deployments" / f"ethereum-chain-{SDK_CHAIN_ID}"
        assert (book / "index.json").exists()
        dist = home / "dist"
        vite = [str(shutil.which("node")), str(WEB / "node_modules" / "vite" / "bin" / "vite.js")]
        build = subprocess.run(
            [*vite, "build", "--outDir", str(dist), "--logLevel", "warn"],
            cwd=WEB, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert build.returncode == 0, build.stdout + build.stderr
        assert not list(dist.rglob("*.json")), "no address book is baked into the build"
        port = free_port()
        served = subprocess.Popen(
            [*vite, "preview", "--outDir", str(dist), "--port", str(port), "--strictPort"],
            cwd=WEB, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**env, "MEDCHAIN_PORTAL_BOOK": str(book), "MEDCHAIN_PORTAL_RPC": uri},
        )  # fmt: skip
        try:
            wait_for_port(port, served, "vite preview", timeout=30.0)
            yield {"uri": uri, "book": book, "url": f"http://127.0.0.1:{port}/"}
        finally:
            served.terminate()
            served.wait(timeout=10)


def _browser(portal, step: str, **args) -> dict:
    out = subprocess.run(
        ["node", str(WEB / "tests" / "portal.mjs"), step, json.dumps(args)],
        cwd=WEB, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PORTAL_URL": portal["url"], "PORTAL_SHOTS": str(SHOTS),
             "CHROMIUM": CHROMIUM},
    )  # fmt: skip
    assert out.returncode == 0, f"browser step {step}:\n{out.stdout}\n{out.stderr}"
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def sdk(portal):
    from ape import accounts, networks

    from medchain.consent import ConsentClient
    from medchain.deployments import AddressBook

    with networks.parse_network_choice(portal["uri"]):
        yield ConsentClient.connect(book=AddressBook(portal["book"])), accounts.test_accounts


def test_patient_grants_revokes_and_sees_the_audit_in_the_browser(portal, sdk):
    from medchain.errors import MedchainError

    consent, test_accounts = sdk
    researcher = test_accounts[3]
    assert researcher.address == RESEARCHER
    assert not consent.check(PATIENT, RESEARCHER, SCOPE, "read", "HRESCH")

    # 1. the patient signs the grant in the page (EIP-712, domain from eip712Domain());
    #    the provider's account relays it
    done = _browser(
        portal, "grant", grantee=RESEARCHER, scope=SCOPE, purposes=["HRESCH"], relayer=2
    )
    assert "confirmed" in done["tx"]
    assert consent.check(PATIENT, RESEARCHER, SCOPE, "read", "HRESCH") is True
    assert consent.check(PATIENT, RESEARCHER, SCOPE, "write", "HRESCH") is False
    permit, deny = consent.provision(PATIENT, RESEARCHER, SCOPE)
    assert permit is not None and deny is None
    assert consent.nonce(PATIENT, RESEARCHER, SCOPE) == 1  # one signed change consumed

    # 2. the researcher logs an access through the SDK while the grant holds
    ref = bytes.fromhex("ab" * 32)
    consent.record_access(PATIENT, SCOPE, "read", "HRESCH", ref, sender=researcher)

    # 3. the patient revokes in the page (signed revocation): the chain says no, and a
    #    further access is refused
    done = _browser(portal, "revoke", grantee=RESEARCHER, scope=SCOPE)
    assert consent.check(PATIENT, RESEARCHER, SCOPE, "read", "HRESCH") is False
    with pytest.raises(MedchainError, match="ConsentAccessDenied"):
        consent.record_access(PATIENT, SCOPE, "read", "HRESCH", ref, sender=researcher)

    # 4. the clinician requests break-glass in the page; the salted commitment computed
    #    in the browser opens exactly as the SDK's Commitment does
    from medchain.consent import Commitment

    reason = "unresponsive in ED; allergy history needed"
    bg = _browser(portal, "breakglass", patient=PATIENT, reason=reason)
    note = Commitment.from_json(bg["note"])
    assert note.text == reason
    episode = consent.episode(bg["episode"])
    assert episode["status"] == "pending" and episode["reason_hash"] == "0x" + note.digest.hex()
    assert note.verify(episode["reason_hash"])

    # 5. a refused action shows the custom error decoded into a sentence
    refused = _browser(portal, "refused", patient=PATIENT)
    assert "does not hold CLINICIAN_ROLE" in refused["error"], refused["error"]
    assert "AccessControlUnauthorizedAccount" in refused["error"]
    assert "refused" in refused["tx"]
    assert refused["check"].startswith("ALLOWED")  # the demo's Observation/TREAT grant
    assert consent.check(PATIENT, PROVIDER, "Observation", "read", "TREAT")

    # 6. the patient's audit view lists the access the researcher logged, the grant and
    #    revoke, and the demo's break-glass episode with its review
    audit = _browser(portal, "audit", recordRef="0x" + ref.hex())
    assert RESEARCHER[:6] in audit["access"] and SCOPE in audit["access"]
    assert "HRESCH" in audit["access"] and "by consent" in audit["access"]
    trail = {e.event for e in consent.audit(PATIENT)}
    assert {"ConsentGranted", "ConsentRevoked", "AccessRecorded", "BreakGlassReviewed"} <= trail
    assert set(audit["events"]) == trail - {"BreakGlassApproved"} | {"BreakGlassApproved"} & trail
    assert "reviewed: accepted" in audit["reviews"]  # the demo's episode
    assert "pending" in audit["reviews"]  # the one requested in step 4
    assert audit["did"] == f"did:ethr:{hex(SDK_CHAIN_ID)}:{PATIENT}"
    assert audit["keys"] >= 1  # the X25519 key the identity step published
    assert audit["records"] and "Observation" in audit["records"][0]
    assert len(audit["shots"]) == 10
    for shot in audit["shots"]:
        assert Path(shot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
