"""One set of entry-type names: the table in docs/trials.md, the contract's
`ITrialRegistry.EntryType`, the SDK's `EntryType` and payload fields, and the `type` of each
entry in a real exported log must all agree (the new-user issue found two sets)."""

from __future__ import annotations

import re
from pathlib import Path

from medchain.trials import PAYLOAD_FIELDS, EntryType
from support.trials import SITE_A, register_trial

ROOT = Path(__file__).resolve().parents[2]


def _docs_table() -> dict[str, tuple[int, list[str]]]:
    text = (ROOT / "docs" / "trials.md").read_text()
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \| ([^|]+) \|$", text, flags=re.M)
    return {
        name: (int(value), [f.strip() for f in fields.split(",")]) for value, name, fields in rows
    }


def _solidity_enum() -> list[str]:
    source = (ROOT / "contracts" / "interfaces" / "ITrialRegistry.sol").read_text()
    body = re.search(r"enum EntryType \{(.*?)\}", source, flags=re.S)
    assert body is not None
    lines = [re.sub(r"//.*", "", line).strip().rstrip(",") for line in body.group(1).splitlines()]
    return [line for line in lines if line]


def test_docs_contract_and_sdk_name_the_same_entry_types():
    table = _docs_table()
    assert list(table) == _solidity_enum() == [t.name for t in EntryType]
    for name, (value, fields) in table.items():
        assert EntryType[name].value == value
        assert fields == [n for n, _ in PAYLOAD_FIELDS[EntryType[name]]], name


def test_exported_log_uses_the_documented_names(
    client, sponsor, ethics, investigator, investigator2, monitor
):
    t = register_trial(client, sponsor, ethics, investigator, investigator2, monitor)
    subject = client.enroll(t.trial_id, SITE_A, "S-1", sender=investigator)
    client.log_deviation(t.trial_id, SITE_A, "late visit", subject=subject.commitment,
                         sender=monitor)  # fmt: skip
    client.suspend(t.trial_id, "review", sender=ethics)
    table = _docs_table()
    for entry in client.export(t.trial_id)["entries"]:
        assert entry["type"] in table, entry["type"]
        assert list(entry["payload"]) == table[entry["type"]][1]
