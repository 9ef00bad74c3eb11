"""Carry a ConsentRegistry's provisions and roles over to its next version (the migration
design of docs/upgrades.md, "ConsentRegistry: migration"), then prove nothing was lost.

`migrate(source, target, sender)`:

1. refuses (typed, one line) unless `target.predecessor()` is `source`, and while
   `source` has a pending or active break-glass episode (episodes are not migrated);
2. enumerates every (patient, grantee, scope) key `source` ever wrote from its events
   (grants, denies, revocations, signature invalidations, its own imports), read with
   the SDK's one event reader `medchain.logs`;
3. sends `target.importProvisions` in batches sized to fit the block gas limit; the
   contract reads each key from `source` itself, so the sender can copy nothing else;
4. enumerates the accounts holding CLINICIAN_ROLE, EMERGENCY_APPROVER_ROLE and
   PRIVACY_OFFICER_ROLE in `source` (RoleGranted events, then `hasRole`) and sends
   `target.importRoles`;
5. verifies: every key's `provisionOf` and `signatureNonce` answer byte-identical in both
   versions (keys the target changed itself, which the import skips, are reported
   apart), and every role member of `source` a member of `target`.

Running it again is safe and cheap (keys already in sync cost reads only): it is how a
change still sent to the retired version after the copy is carried over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak

from medchain.errors import IntegrityError, InvalidInput
from medchain.hashing import selector
from medchain.logs import reader_for_contracts

__all__ = [
    "KEY_EVENTS",
    "MIGRATED_ROLES",
    "BreakGlassInProgress",
    "MigrationIncomplete",
    "MigrationRefused",
    "MigrationReport",
    "break_glass_in_progress",
    "import_batches",
    "keys_of",
    "migrate",
    "role_members",
    "verify",
]

# Every event by which a version writes a key (an import re-emits the first three too,
# and a predecessor that was itself migrated announces its imported keys).
KEY_EVENTS = (
    "ConsentGranted",
    "ConsentDenied",
    "ConsentRevoked",
    "ConsentSignaturesInvalidated",
    "ConsentImported",
)
MIGRATED_ROLES = ("CLINICIAN_ROLE", "EMERGENCY_APPROVER_ROLE", "PRIVACY_OFFICER_ROLE")
# Upper bound of one key's first import (two fresh slots, two predecessor calls, up to
# three events: 60,308 on average over tests/consent/test_migration.py's 10,010 keys);
# batches fill at most BLOCK_SHARE of a block.
IMPORT_GAS_PER_KEY = 75_000
BLOCK_SHARE = 0.8
BATCH_CEILING = 1_000  # keys per transaction, whatever the block allows
_PROVISION_OF = selector("provisionOf(address,address,bytes32)")
_SIGNATURE_NONCE = selector("signatureNonce(address,address,bytes32)")
_SKIPPED_TOPIC = "0x" + keccak(text="ConsentImportSkipped(address,address,bytes32)").hex()
_STATUS_PENDING, _STATUS_ACTIVE = 1, 2

Key = tuple[str, str, bytes]  # (patient, grantee, scope)


class MigrationRefused(InvalidInput):
    """The migration cannot start (wrong target, no predecessor link, ...)."""


class BreakGlassInProgress(MigrationRefused):
    """The source has a pending or active break-glass episode, which is not migrated."""


class MigrationIncomplete(IntegrityError):
    """After the import, a key or a role differs between the two versions."""


@dataclass
class MigrationReport:
    """What `migrate` did and found."""

    source: str
    target: str
    keys: int = 0
    imported: int = 0  # keys whose provision the import wrote (changed) this run
    skipped: list[dict[str, str]] = field(default_factory=list)  # changed in the target
    batches: int = 0
    batch_size: int = 0
    gas_used: int = 0
    roles: dict[str, int] = field(default_factory=dict)  # role -> members copied over
    roles_skipped: list[dict[str, str]] = field(default_factory=list)
    role_gas_used: int = 0
    verified_keys: int = 0
    awaiting_review: int = 0  # source episodes still to be reviewed there

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _addr(value: Any) -> str:
    from medchain.consent.client import _addr as consent_addr

    return consent_addr(value)


def _contract(item: Any) -> Any:
    return item.contract if hasattr(item, "contract") else item


def keys_of(source: Any, from_block: int = 0) -> list[Key]:
    """Every (patient, grantee, scope) key `source` ever wrote, from its events, sorted."""
    logs = reader_for_contracts(_contract(source)).read(from_block, names=KEY_EVENTS)
    return sorted(
        {(_addr(e.args["patient"]), _addr(e.args["grantee"]), bytes(e.args["scope"])) for e in logs}
    )


def skipped_keys(target: Any, from_block: int = 0) -> set[Key]:
    """The keys an import into `target` left alone because `target` had changed them
    itself (its ConsentImportSkipped events): `verify` does not compare those."""
    logs = reader_for_contracts(_contract(target)).read(from_block, names="ConsentImportSkipped")
    return {
        (_addr(e.args["patient"]), _addr(e.args["grantee"]), bytes(e.args["scope"])) for e in logs
    }


def role_members(registry: Any, from_block: int = 0) -> dict[str, list[str]]:
    """The current members of each migrated role: RoleGranted events say who ever got
    it, `hasRole` who holds it now."""
    contract = _contract(registry)
    ids = {name: bytes(getattr(contract, name)()) for name in MIGRATED_ROLES}
    logs = reader_for_contracts(contract).read(
        from_block, names="RoleGranted", where={"role": list(ids.values())}
    )
    members: dict[str, list[str]] = {}
    for name, role in ids.items():
        candidates = sorted(
            {_addr(e.args["account"]) for e in logs if bytes(e.args["role"]) == role}
        )
        members[name] = [a for a in candidates if contract.hasRole(role, a)]
    return members


def break_glass_in_progress(source: Any) -> list[int]:
    """Ids of the source's episodes that are pending (approvable) or active at the latest
    block. Ids grow with request time, so the scan stops at the first episode too old to
    be either (requested more than REQUEST_TTL + MAX_BREAK_GLASS_DURATION ago)."""
    from ape import chain

    contract = _contract(source)
    now = int(chain.blocks.head.timestamp)
    horizon = int(contract.REQUEST_TTL()) + int(contract.MAX_BREAK_GLASS_DURATION())
    busy: list[int] = []
    for episode_id in range(int(contract.episodeCount()), 0, -1):
        e = contract.episode(episode_id)
        requested, status = int(e.requestedAt), int(e.status)
        if requested + horizon <= now:
            break
        pending = status == _STATUS_PENDING and now < requested + int(contract.REQUEST_TTL())
        if pending or (status == _STATUS_ACTIVE and now < int(e.expiresAt)):
            busy.append(episode_id)
    return sorted(busy)


def import_batches(keys: Sequence[Key], block_gas_limit: int) -> list[list[Key]]:
    """`keys` cut into `importProvisions` batches that fit BLOCK_SHARE of a block."""
    size = max(1, min(BATCH_CEILING, int(block_gas_limit * BLOCK_SHARE) // IMPORT_GAS_PER_KEY))
    return [list(keys[i : i + size]) for i in range(0, len(keys), size)]


def _check_link(source: Any, target: Any) -> None:
    src, dst = _contract(source), _contract(target)
    try:
        predecessor = _addr(dst.predecessor())
    except Exception as err:  # an older ConsentRegistry, or no contract at all
        raise MigrationRefused(
            f"{dst.address} is not a ConsentRegistry that can migrate (no predecessor()): {err}"
        ) from err
    if predecessor != _addr(src.address):
        raise MigrationRefused(
            f"{dst.address} migrates from {predecessor}, not from {src.address}: deploy the "
            "new version with the old one as its predecessor"
        )


def migrate(
    source: Any, target: Any, sender: Any, *, from_block: int = 0, log: Any = None
) -> MigrationReport:
    """Import every provision and role of `source` into `target` (sent by `sender`, who
    needs no role) and verify. Raises MigrationRefused / BreakGlassInProgress before
    sending anything, MigrationIncomplete when the verification finds a difference."""
    from ape import chain

    say = log or (lambda _: None)
    src, dst = _contract(source), _contract(target)
    _check_link(src, dst)
    busy = break_glass_in_progress(src)
    if busy:
        raise BreakGlassInProgress(
            f"{src.address} has break-glass episode(s) {', '.join(map(str, busy))} pending or "
            "active; episodes are not migrated: switch when none is (at most 25 h)"
        )
    report = MigrationReport(source=_addr(src.address), target=_addr(dst.address))
    report.awaiting_review = int(src.awaitingReview())

    keys = keys_of(src, from_block)
    report.keys = len(keys)
    batches = import_batches(keys, int(chain.blocks.head.gas_limit))
    report.batches, report.batch_size = len(batches), len(batches[0]) if batches else 0
    skipped: set[Key] = set()
    imported_topic = "0x" + keccak(text="ConsentImported(address,address,bytes32,uint256)").hex()
    for n, batch in enumerate(batches, 1):
        receipt = dst.importProvisions(batch, sender=sender)
        report.gas_used += int(receipt.gas_used)
        for entry in receipt.logs:
            topics = [
                "0x" + bytes(t).hex() if not isinstance(t, str) else t for t in entry["topics"]
            ]
            if topics[0] == _SKIPPED_TOPIC:
                skipped.add(_key_of_topics(topics))
            elif topics[0] == imported_topic:
                report.imported += 1
        say(f"imported batch {n}/{len(batches)}: {len(batch)} keys, gas {int(receipt.gas_used):,}")
    report.skipped = [_key_json(k) for k in sorted(skipped)]

    for name, accounts in role_members(src, from_block).items():
        if not accounts:
            report.roles[name] = 0
            continue
        role = bytes(getattr(src, name)())
        receipt = dst.importRoles(role, accounts, sender=sender)
        report.role_gas_used += int(receipt.gas_used)
        report.roles[name] = len(accounts)
        say(f"imported {name}: {len(accounts)} account(s)")

    verify(src, dst, keys, report, skipped=skipped, from_block=from_block)
    return report


def verify(
    source: Any,
    target: Any,
    keys: Sequence[Key],
    report: MigrationReport,
    *,
    skipped: set[Key] | None = None,
    from_block: int = 0,
) -> None:
    """Every key's provisionOf + signatureNonce byte-identical in both versions (except
    the keys the target changed itself, `skipped`), every role member of the source a
    member of the target (except accounts the target revoked, reported). Raises
    MigrationIncomplete naming the first difference and how many there are."""
    src, dst = _contract(source), _contract(target)
    skipped = skipped or set()
    checked = [k for k in keys if k not in skipped]
    payloads = [
        sel + abi_encode(["address", "address", "bytes32"], [p, g, s])
        for p, g, s in checked
        for sel in (_PROVISION_OF, _SIGNATURE_NONCE)
    ]
    before, after = _calls(src, payloads), _calls(dst, payloads)
    differ = [checked[i // 2] for i in range(0, len(payloads), 2)
              if before[i : i + 2] != after[i : i + 2]]  # fmt: skip
    if differ:
        first = _key_json(differ[0])
        raise MigrationIncomplete(
            f"{len(differ)} key(s) differ between {src.address} and {dst.address} after the "
            f"import, first {first['patient']} / {first['grantee']} / {first['scope']}: "
            "run the migration again"
        )
    report.verified_keys = len(checked)
    missing: list[str] = []
    for name, accounts in role_members(src, from_block).items():
        role = bytes(getattr(src, name)())
        for account in accounts:
            if dst.hasRole(role, account):
                continue
            if _revoked_in(dst, role, account):  # governance took it away in the target
                report.roles_skipped.append({"role": name, "account": account})
                continue
            missing.append(f"{name} of {account}")
    if missing:
        raise MigrationIncomplete(
            f"{len(missing)} role grant(s) of {src.address} missing in {dst.address}, first "
            f"{missing[0]}: run the migration again"
        )


def _revoked_in(registry: Any, role: bytes, account: str) -> bool:
    """Whether `registry` revoked `role` from `account` (so the import skips it)."""
    logs = reader_for_contracts(registry).read(
        0, names="RoleRevoked", where={"role": role, "account": account}
    )
    return bool(logs)


def _calls(registry: Any, payloads: Sequence[bytes]) -> list[bytes]:
    """The raw answers of `payloads` (eth_call data) at the latest block: JSON-RPC
    batches against an HTTP node, one call each on an in-process chain."""
    from ape import chain

    from medchain.consent.client import ConsentClient, _http_uri

    uri = _http_uri()
    client = ConsentClient(registry)
    if uri is not None:
        return client._batched_calls(uri, payloads)
    web3 = chain.provider.web3
    return [
        bytes(web3.eth.call({"to": registry.address, "data": "0x" + p.hex()})) for p in payloads
    ]


def _key_of_topics(topics: Sequence[str]) -> Key:
    return (
        _addr("0x" + topics[1][-40:]),
        _addr("0x" + topics[2][-40:]),
        bytes.fromhex(topics[3].removeprefix("0x")),
    )


def _key_json(key: Key) -> dict[str, str]:
    from medchain.consent.codes import scope_label

    return {"patient": key[0], "grantee": key[1], "scope": scope_label(key[2])}
