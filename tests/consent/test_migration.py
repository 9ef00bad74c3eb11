"""ConsentRegistry's migration design on anvil: a v1 holding 10,000 provisions (permits,
denies, both on one key, wildcard scopes, expired, not yet started, revoked and
signature-only keys, ten patients) is migrated to a v2 that names it as predecessor by
`medchain.consent.migrate`, and every answer (hasAccess over an action x purpose matrix,
provisionOf, signatureNonce, role membership, the events grants_to reads) is compared
before and after. Then the attacks: importing without a predecessor, overwriting a key the
new version changed, a revocation sent to the retired version after the copy, copying the
admin role or a role v1 does not hold, undoing a governance revocation by re-import, a v1
signature relayed to v2, and migrating during a break-glass episode.

The bulk provisions are sent by impersonated patients over JSON-RPC batches with automine
off (no client-side signing, ~530 transactions per block), so the module runs in about a
minute on two cores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import ape
import httpx
import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from medchain.codec import scope_code
from medchain.consent import ConsentClient
from medchain.consent.deploy import consent_args
from medchain.consent.migrate import (
    MIGRATED_ROLES,
    BreakGlassInProgress,
    MigrationRefused,
    keys_of,
    migrate,
)
from medchain.hashing import selector
from support.anvil import deployed_anvil

pytestmark = pytest.mark.anvil
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PATIENTS, KEYS_PER_PATIENT, GRANTEES = 10, 1_000, 50
OPEN_END = 2**40 - 1
ANY_SCOPE = b"*".ljust(32, b"\0")
SCOPES = [ANY_SCOPE] + [f"scope-{i}".encode().ljust(32, b"\0") for i in range(1, 20)]
# (action mask, purpose code) pairs asked of every key: read/write/share, a combined mask,
# treatment, emergency treatment, healthcare operations (purpose codes 0, 1, 3).
MATRIX = [(1, 0), (2, 0), (4, 3), (3, 1)]
_GRANT = selector("grant(address,address,bytes32,uint8,uint32,uint40,uint40)")
_DENY = selector("deny(address,address,bytes32,uint8,uint32,uint40,uint40)")
_REVOKE = selector("revoke(address,address,bytes32)")
_INVALIDATE = selector("invalidateSignatures(address,address,bytes32)")
_HAS_ACCESS = selector("hasAccess(address,address,bytes32,uint8,uint8)")
_PROVISION_OF = selector("provisionOf(address,address,bytes32)")
_NONCE = selector("signatureNonce(address,address,bytes32)")


def _address(text: str) -> str:
    return to_checksum_address(keccak(text=text)[-20:])


def rpc(
    uri: str, calls: list[tuple[str, list[Any]]], http: httpx.Client | None = None
) -> list[Any]:
    """One JSON-RPC batch; every answer must be a result."""
    body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
    answers = (http or httpx).post(uri, json=body, timeout=300).json()
    by_id = {a["id"]: a for a in answers}
    errors = [by_id[i]["error"] for i in range(len(calls)) if "error" in by_id[i]]
    assert not errors, errors[:3]
    return [by_id[i]["result"] for i in range(len(calls))]


def eth_calls(uri: str, to: str, payloads: list[bytes]) -> list[str]:
    out: list[str] = []
    with httpx.Client(timeout=300) as http:
        for first in range(0, len(payloads), 2_000):
            chunk = payloads[first : first + 2_000]
            out += rpc(uri, [("eth_call", [{"to": to, "data": "0x" + p.hex()}, "latest"])
                             for p in chunk], http)  # fmt: skip
    return out


def _key_args(key: tuple[str, str, bytes]) -> bytes:
    return abi_encode(["address", "address", "bytes32"], list(key))


def answers(uri: str, registry: str, keys: list[tuple[str, str, bytes]]) -> dict[str, list[str]]:
    """Every key's provisionOf, signatureNonce and hasAccess matrix, raw."""
    matrix = [
        _HAS_ACCESS + abi_encode(["address", "address", "bytes32", "uint8", "uint8"], [*k, a, p])
        for k in keys
        for a, p in MATRIX
    ]
    return {
        "provisionOf": eth_calls(uri, registry, [_PROVISION_OF + _key_args(k) for k in keys]),
        "signatureNonce": eth_calls(uri, registry, [_NONCE + _key_args(k) for k in keys]),
        "hasAccess": eth_calls(uri, registry, matrix),
    }


def populate(uri: str, registry: str, now: int) -> tuple[list[tuple[str, str, bytes]], int]:
    """10,000 provisions written by ten impersonated patients; returns the keys and how
    many provision events the transactions must have produced."""
    patients = [_address(f"migration patient {i}") for i in range(PATIENTS)]
    grantees = [_address(f"migration grantee {i}") for i in range(GRANTEES)]
    setup: list[tuple[str, list[Any]]] = [("evm_setAutomine", [False])]
    for p in patients:
        setup += [("anvil_impersonateAccount", [p]), ("anvil_setBalance", [p, hex(10**21)])]
    rpc(uri, setup)
    txs: list[dict[str, Any]] = []
    keys: list[tuple[str, str, bytes]] = []
    events = 0
    for patient in patients:
        sent: list[bytes] = []
        for j in range(KEYS_PER_PATIENT):
            key = (patient, grantees[j % GRANTEES], SCOPES[j // GRANTEES])
            keys.append(key)
            short = j % 7 == 0  # ends an hour from now: expired once time moves on
            end = now + 3_600 if short else OPEN_END
            start = now + 10**6 if (j % 13 == 0 and not short) else 0  # not yet started
            actions, purposes = (1, 3, 7, 2, 5)[j % 5], (1, 3, 8, 0xFFFFFFFF)[j % 4]
            kind = j % 10
            half = abi_encode(
                ["address", "address", "bytes32", "uint8", "uint32", "uint40", "uint40"],
                [*key, actions, purposes, start, end],
            )
            sent.append((_DENY if kind in (6, 7) else _GRANT) + half)
            if kind == 8:  # a permit and a deny on one key
                sent.append(_DENY + abi_encode(
                    ["address", "address", "bytes32", "uint8", "uint32", "uint40", "uint40"],
                    [*key, 2, 1, 0, OPEN_END],
                ))  # fmt: skip
            elif kind == 9:  # granted, then revoked: only the sequence remains
                sent.append(_REVOKE + _key_args(key))
        # A key whose signatures were voided before anything was granted: sequence only.
        seq_only = (patient, grantees[0], b"signature-only".ljust(32, b"\0"))
        keys.append(seq_only)
        sent.append(_INVALIDATE + _key_args(seq_only))
        events += len(sent)
        txs += [
            {"from": patient, "to": registry, "data": "0x" + data.hex(), "gas": hex(150_000),
             "gasPrice": hex(10**10), "nonce": hex(nonce)}
            for nonce, data in enumerate(sent)
        ]  # fmt: skip
    with httpx.Client(timeout=300) as http:
        for first in range(0, len(txs), 1_000):
            rpc(uri, [("eth_sendTransaction", [tx]) for tx in txs[first : first + 1_000]], http)
        while int(rpc(uri, [("txpool_status", [])], http)[0]["pending"], 16):
            rpc(uri, [("evm_mine", [])], http)
        rpc(uri, [("evm_setAutomine", [True])], http)
    return keys, events


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    with deployed_anvil(tmp_path_factory.mktemp("book"), "ConsentRegistry") as (
        uri, _book, ctx, roles,
    ):  # fmt: skip
        yield {
            "uri": uri,
            "book": str(_book.path),
            "ctx": ctx,
            "roles": roles,
            "v1": ctx.contracts["ConsentRegistry"],
        }


def next_version(node: dict[str, Any], predecessor: Any) -> Any:
    """A ConsentRegistry naming `predecessor`, deployed by the deployer (the governance
    of a dev chain) with the shipped constructor arguments."""
    from ape import project

    deployer = node["roles"]["deployer"]
    did = node["ctx"].contracts["DIDRegistry"]
    args = consent_args(str(did.address), str(deployer.address), str(predecessor.address))
    return deployer.deploy(project.ConsentRegistry, *args)


def first_version(node: dict[str, Any]) -> Any:
    from ape import project

    deployer = node["roles"]["deployer"]
    did = node["ctx"].contracts["DIDRegistry"]
    return deployer.deploy(
        project.ConsentRegistry, *consent_args(str(did.address), str(deployer.address))
    )


def test_ten_thousand_provisions_migrate_with_identical_answers(node):
    from ape import chain

    started = time.perf_counter()
    uri, v1, roles = node["uri"], node["v1"], node["roles"]
    keys, expected_events = populate(uri, str(v1.address), int(chain.blocks.head.timestamp))
    assert len(keys) == PATIENTS * (KEYS_PER_PATIENT + 1) == 10_010
    written = rpc(uri, [("eth_getLogs", [{"address": str(v1.address), "fromBlock": "0x0"}])])[0]
    provision_logs = [log for log in written if log["topics"][0] != "0x" + keccak(
        text="ConsentManagedBy(address,address)").hex()]  # fmt: skip
    role_or_admin = {"0x" + keccak(text=t).hex() for t in (
        "RoleGranted(bytes32,address,address)", "BreakGlassThresholdChanged(uint8)")}  # fmt: skip
    assert (
        len([g for g in provision_logs if g["topics"][0] not in role_or_admin]) == expected_events
    )
    # A clinician off-boarded in v1 must not come back in v2.
    deployer, gone = roles["deployer"], roles["monitor"]
    v1.grantRole(v1.CLINICIAN_ROLE(), gone, sender=deployer)
    v1.revokeRole(v1.CLINICIAN_ROLE(), gone, sender=deployer)
    rpc(uri, [("evm_increaseTime", [7_200]), ("evm_mine", [])])  # the short provisions expire
    populated = time.perf_counter()

    before = answers(uri, str(v1.address), keys)
    granted = sum(a.endswith("1") for a in before["hasAccess"])
    assert 0 < granted < len(before["hasAccess"])  # the matrix has both answers
    v2 = next_version(node, v1)
    assert str(v2.predecessor()) == str(v1.address)
    migrated_at = time.perf_counter()
    report = migrate(v1, v2, roles["researcher"])  # anyone may run it: no role needed
    migrated = time.perf_counter()
    assert report.keys == len(keys) and report.verified_keys == len(keys)
    assert report.imported == len(keys) and report.skipped == []
    assert report.batches >= 2 and report.gas_used > 0
    after = answers(uri, str(v2.address), keys)
    for name in before:
        assert after[name] == before[name], name
    for name in MIGRATED_ROLES:
        role = getattr(v1, name)()
        for account in roles.values():
            assert v2.hasRole(role, account) == v1.hasRole(role, account), (name, account)
    assert not v2.hasRole(v2.CLINICIAN_ROLE(), gone)
    assert str(v2.defaultAdmin()) == str(deployer.address)  # set by v2's constructor only
    # Event readers see the provisions in v2 too (grants_to reads ConsentGranted/Denied).
    grantee = keys[0][1]
    assert ConsentClient(v2).grants_to(grantee) == ConsentClient(v1).grants_to(grantee)
    assert sorted(keys_of(v2)) == sorted(keys)
    # Re-running the import on keys already in sync changes nothing and costs reads only.
    batch = keys[: report.batch_size]
    again = v2.importProvisions(batch, sender=roles["lab"])
    assert list(again.events) == []
    per_key_again = int(again.gas_used) // len(batch)
    assert per_key_again < report.gas_used // len(keys) // 3
    print(
        f"\nmigration of {len(keys)} keys: populate {populated - started:.1f} s, "
        f"import+verify {migrated - migrated_at:.1f} s in {report.batches} batches of "
        f"{report.batch_size}, {report.gas_used:,} gas ({report.gas_used // len(keys):,} per "
        f"key), re-import in sync {per_key_again:,} gas per key, whole test {time.perf_counter() - started:.1f} s"
    )


def test_import_without_predecessor_is_refused(node):
    v1, roles = first_version(node), node["roles"]
    key = (roles["patient"].address, roles["provider"].address, ANY_SCOPE)
    with ape.reverts(v1.ConsentNoPredecessor):
        v1.importProvisions([key], sender=roles["researcher"])
    with ape.reverts(v1.ConsentNoPredecessor):
        v1.importRoles(v1.CLINICIAN_ROLE(), [roles["provider"]], sender=roles["researcher"])
    other = first_version(node)
    with pytest.raises(MigrationRefused, match="migrates from 0x0000"):
        migrate(other, v1, roles["researcher"])


def test_a_key_changed_in_the_new_version_is_never_overwritten(node):
    v1, roles = first_version(node), node["roles"]
    patient, provider = roles["patient"], roles["provider"]
    ConsentClient(v1).grant(patient, provider, "Observation", "read", sender=patient)
    v2 = next_version(node, v1)
    # The patient acts in v2 before the import reached the key: v2 is newer.
    ConsentClient(v2).grant(patient, provider, "Observation", "write", sender=patient)
    report = migrate(v1, v2, roles["researcher"])
    assert report.skipped == [
        {"patient": str(patient.address), "grantee": str(provider.address), "scope": "Observation"}
    ]
    assert v2.hasAccess(patient, provider, scope_code("Observation"), 2, 0)
    assert not v2.hasAccess(patient, provider, scope_code("Observation"), 1, 0)
    # And an attacker re-running the import directly cannot bring v1's provision back.
    key = (patient.address, provider.address, scope_code("Observation"))
    receipt = v2.importProvisions([key], sender=roles["researcher"])
    assert [log.event_name for log in receipt.events] == ["ConsentImportSkipped"]
    assert v2.hasAccess(patient, provider, key[2], 2, 0)


def test_a_revocation_sent_to_the_retired_version_is_carried_by_re_import(node):
    v1, roles = first_version(node), node["roles"]
    patient, provider = roles["patient"], roles["provider"]
    old = ConsentClient(v1)
    old.grant(patient, provider, "*", "read", sender=patient)
    v2 = next_version(node, v1)
    migrate(v1, v2, roles["researcher"])
    assert v2.hasAccess(patient, provider, ANY_SCOPE, 1, 0)
    old.revoke(patient, provider, "*", sender=patient)  # a stale frontend still uses v1
    assert v2.hasAccess(patient, provider, ANY_SCOPE, 1, 0)
    report = migrate(v1, v2, roles["lab"])  # anyone re-runs it
    assert report.imported == 1
    assert not v2.hasAccess(patient, provider, ANY_SCOPE, 1, 0)
    assert (
        v2.signatureNonce(patient, provider, ANY_SCOPE)
        == v1.signatureNonce(patient, provider, ANY_SCOPE)
        == 2
    )
    trail = [e.event for e in ConsentClient(v2).audit(patient)]
    assert trail == ["ConsentGranted", "ConsentImported", "ConsentRevoked", "ConsentImported"]
    # Once the patient acts in v2, later v1 changes no longer apply.
    ConsentClient(v2).grant(patient, provider, "*", "share", sender=patient)
    old.grant(patient, provider, "*", "write", sender=patient)
    assert migrate(v1, v2, roles["lab"]).skipped[0]["scope"] == "*"
    assert v2.hasAccess(patient, provider, ANY_SCOPE, 4, 0)
    assert not v2.hasAccess(patient, provider, ANY_SCOPE, 2, 0)


def test_a_delegate_cannot_escape_the_patients_deny_before_the_import(node):
    """A consent delegate may not lift or replace the patient's deny. Acting in v2 before
    the import reached the key would make the import skip it (v2 changed it) and lose
    v1's deny: v2 brings the key up to date from v1 first whenever a delegate acts."""
    v1, roles = first_version(node), node["roles"]
    patient, provider, guardian = roles["patient"], roles["provider"], roles["guardian"]
    rpc(node["uri"], [("anvil_setBalance", [str(guardian.address), hex(10**20)])])
    did = node["ctx"].contracts["DIDRegistry"]
    did.addDelegate(patient, v1.CONSENT_DELEGATE(), guardian, 30 * 86_400, sender=patient)
    scope = scope_code("Condition")
    ConsentClient(v1).grant(patient, provider, "Condition", "read", deny=True, sender=patient)
    v2 = next_version(node, v1)  # deployed, not imported yet
    with ape.reverts(v2.ConsentDenyOwnerOnly, caller=guardian):
        v2.deny(patient, provider, scope, 2, 1, 0, OPEN_END, sender=guardian)
    receipt = v2.grant(patient, provider, scope, 1, 1, 0, OPEN_END, sender=guardian)
    assert "ConsentImported" in [log.event_name for log in receipt.events]
    assert not v2.hasAccess(patient, provider, scope, 1, 0)  # the deny came along
    assert (
        v2.provisionOf(patient, provider, scope)[1] == v1.provisionOf(patient, provider, scope)[1]
    )
    with ape.reverts(v2.ConsentDenyOwnerOnly, caller=guardian):
        v2.liftDeny(patient, provider, scope, sender=guardian)
    report = migrate(v1, v2, roles["researcher"])
    assert [k["scope"] for k in report.skipped] == ["Condition"]  # the delegate's grant stays
    assert not v2.hasAccess(patient, provider, scope, 1, 0)
    # A delegate's revocation of a permit v2 had not imported yet works on the copy.
    ConsentClient(v1).grant(patient, provider, "Encounter", "read", sender=patient)
    v3 = next_version(node, v1)
    v3.revoke(patient, provider, scope_code("Encounter"), sender=guardian)
    assert not v3.hasAccess(patient, provider, scope_code("Encounter"), 1, 0)
    assert v3.signatureNonce(patient, provider, scope_code("Encounter")) == 2


def test_roles_import_only_what_v1_grants_and_never_undoes_governance(node):
    v1, roles = first_version(node), node["roles"]
    deployer, outsider, clinician = roles["deployer"], roles["researcher"], roles["provider"]
    v1.grantRole(v1.CLINICIAN_ROLE(), clinician, sender=deployer)
    v2 = next_version(node, v1)
    admin_role = v2.DEFAULT_ADMIN_ROLE()
    with ape.reverts(v2.ConsentRoleNotMigratable, role=admin_role):
        v2.importRoles(admin_role, [deployer], sender=outsider)
    with ape.reverts(
        v2.ConsentRoleNotHeldByPredecessor, role=v2.CLINICIAN_ROLE(), account=outsider
    ):
        v2.importRoles(v2.CLINICIAN_ROLE(), [clinician, outsider], sender=outsider)
    assert not v2.hasRole(v2.CLINICIAN_ROLE(), clinician)  # the whole call was refused
    v2.importRoles(v2.CLINICIAN_ROLE(), [clinician], sender=outsider)
    assert v2.hasRole(v2.CLINICIAN_ROLE(), clinician)
    # Governance off-boards the clinician in v2; v1 (retired) still lists them.
    v2.revokeRole(v2.CLINICIAN_ROLE(), clinician, sender=deployer)
    receipt = v2.importRoles(v2.CLINICIAN_ROLE(), [clinician], sender=outsider)
    assert [log.event_name for log in receipt.events] == ["ConsentRoleImportSkipped"]
    assert not v2.hasRole(v2.CLINICIAN_ROLE(), clinician)
    report = migrate(v1, v2, outsider)
    assert report.roles_skipped == [{"role": "CLINICIAN_ROLE", "account": str(clinician.address)}]
    assert not v2.hasRole(v2.CLINICIAN_ROLE(), clinician)
    assert not v2.hasRole(admin_role, outsider)


def test_a_v1_signature_is_refused_by_v2(node):
    from ape import chain

    v1, roles = first_version(node), node["roles"]
    patient, provider = roles["patient"], roles["provider"]
    v2 = next_version(node, v1)
    migrate(v1, v2, roles["researcher"])
    deadline = int(chain.blocks.head.timestamp) + 3_600
    signed = ConsentClient(v1).sign_grant(
        patient, patient, provider, "Observation", "read", deadline=deadline
    )
    # Same nonce (0) in both versions: only the EIP-712 domain (verifyingContract) differs.
    assert v2.signatureNonce(patient, provider, scope_code("Observation")) == 0
    values = signed.message_values()
    struct = tuple(values[name] for name in (
        "patient", "grantee", "scope", "actions", "purposes", "start", "end", "deny", "signer",
        "nonce", "deadline"))  # fmt: skip
    with ape.reverts(v2.ConsentInvalidSignature, signer=patient):
        v2.grantBySig(struct, signed.signature, sender=roles["lab"])
    ConsentClient(v1).relay(signed, sender=roles["lab"])  # the signature is genuine for v1
    assert v1.hasAccess(patient, provider, scope_code("Observation"), 1, 0)
    assert not v2.hasAccess(patient, provider, scope_code("Observation"), 1, 0)


def test_migration_waits_for_break_glass_to_end(node):
    v1, roles = first_version(node), node["roles"]
    deployer, clinician = roles["deployer"], roles["provider"]
    v1.grantRole(v1.CLINICIAN_ROLE(), clinician, sender=deployer)
    v1.requestBreakGlass(roles["patient"], b"\x01" * 32, 3_600, sender=clinician)
    v2 = next_version(node, v1)
    with pytest.raises(BreakGlassInProgress, match=r"episode\(s\) 1 pending or active"):
        migrate(v1, v2, roles["researcher"])
    assert v2.hasRole(v2.CLINICIAN_ROLE(), clinician) is False  # nothing was sent
    rpc(node["uri"], [("evm_increaseTime", [3_601]), ("evm_mine", [])])  # request expired
    assert migrate(v1, v2, roles["researcher"]).roles["CLINICIAN_ROLE"] == 1


def test_cli_migrates_and_refuses_in_one_line(node, tmp_path):
    v1, roles = first_version(node), node["roles"]
    patient, provider = roles["patient"], roles["provider"]
    ConsentClient(v1).grant(patient, provider, "Observation", "read", sender=patient)
    v2 = next_version(node, v1)
    env = {**os.environ, "MEDCHAIN_HOME": str(tmp_path / "home")}

    def medchain(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN / "medchain"), "consent", "migrate", *args, "--network", node["uri"],
             "--book", node["book"], "--account", "TEST::3"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    out = medchain("--from", str(v1.address), "--to", str(v2.address), "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    payload = "\n".join(line for line in out.stdout.splitlines() if not line.startswith("INFO:"))
    report = json.loads(payload)
    assert (report["keys"], report["imported"], report["verified_keys"]) == (1, 1, 1)
    assert v2.hasAccess(patient, provider, scope_code("Observation"), 1, 0)
    refused = medchain("--from", str(v2.address), "--to", str(v1.address))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"migrates from 0x{'0' * 40}" in lines[0], refused.stderr
