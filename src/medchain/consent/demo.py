"""Demo step: the patient signs (gasless) a 30-day read grant of lab results for treatment
to the provider, the provider gets the record key only because of that grant, records the
access and reads the lab result from the records step; a break-glass episode runs to its
review (2 of 3 approvers, privacy officer); the patient's audit trail is printed."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table

from medchain.consent import ConsentClient, NoteStore, scope_label
from medchain.consent.client import deliver_record_key
from medchain.demo import DemoContext
from medchain.timeutil import DAY

RECORD_SCOPE = "Observation"  # the record type the records step anchored the lab result under


def _x25519(key: Any) -> Any:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    if key is None or isinstance(key, X25519PrivateKey):
        return key
    return X25519PrivateKey.from_private_bytes(bytes(key))


def _recipient(ctx: DemoContext, role: str, key: Any) -> Any:
    """The role's published key-agreement key (identity step), else its local key."""
    from medchain.records.demo import recipient_for_key

    return recipient_for_key(ctx, ctx.accounts[role], key)[0]


def _read_lab_result(ctx: DemoContext, consent: ConsentClient) -> None:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from medchain.records import Records, RecordsClient

    console = ctx.console
    record_id = ctx.shared.get("lab_record")
    keys = ctx.shared.setdefault("keys", {})
    patient_key = _x25519(keys.get("patient"))
    if record_id is None or patient_key is None or ctx.store is None:
        console.print("[yellow]no lab record from the records step: skipping the read")
        return
    provider, patient = ctx.accounts["provider"], ctx.accounts["patient"]
    provider_key = _x25519(keys.get("provider"))
    if provider_key is None:
        provider_key = keys["provider"] = X25519PrivateKey.generate()
    records = Records(RecordsClient(ctx.contracts["RecordRegistry"], sender=patient), ctx.store)
    envelope = deliver_record_key(
        consent,
        records,
        record_id,
        patient=patient,
        patient_key=patient_key,
        grantee=provider,
        recipient=_recipient(ctx, "provider", provider_key),
        sender=patient,
    )
    console.print(f"key delivered    record key sealed to the provider's DID key ({envelope})")
    consent.record_access(patient, RECORD_SCOPE, "read", "TREAT", record_id, sender=provider)
    plain = bytes(records.get(record_id, recipient=provider, private_key=provider_key))  # type: ignore[arg-type]
    observation = json.loads(plain)
    value = observation["valueQuantity"]
    console.print(
        f"provider reads   {observation['code']['coding'][0]['display']} = "
        f"{value['value']} {value['unit']} (access recorded on chain)"
    )


def run(ctx: DemoContext) -> None:
    from ape import chain

    console = ctx.console
    acc = ctx.accounts
    patient, provider = acc["patient"], acc["provider"]
    consent = ConsentClient(ctx.contracts["ConsentRegistry"])
    first_block = chain.blocks.height + 1

    # 1. gasless grant: the patient signs, the provider relays and pays
    until = chain.pending_timestamp + 30 * DAY
    signed = consent.sign_grant(
        patient, patient, provider, RECORD_SCOPE, "read", "TREAT", 0, until,
        deadline=chain.pending_timestamp + 3600,
    )  # fmt: skip
    consent.relay(signed, sender=provider)
    console.print(
        f"grant            patient -> provider: read {RECORD_SCOPE} (lab results) for TREAT, "
        f"30 days (EIP-712 signed by the patient, relayed by the provider)"
    )
    ok = consent.check(patient, provider, RECORD_SCOPE, "read", "TREAT")
    research = consent.check(patient, provider, RECORD_SCOPE, "read", "HRESCH")
    console.print(f"checks           read/TREAT {ok}, read/HRESCH {research}")

    # 2. the provider gets the key only because of the grant, and reads the lab result
    _read_lab_result(ctx, consent)

    # 3. break-glass: request, 2-of-3 approvals, emergency access, close, review
    episode = consent.request_break_glass(
        patient, "unresponsive in ED; medication history needed", 4 * 3600, sender=provider
    )
    consent.approve_break_glass(episode, sender=acc["approver1"])
    consent.approve_break_glass(episode, sender=acc["approver2"])
    info = consent.episode(episode)
    console.print(
        f"break-glass      episode {episode}: {info['approvals']} approvals -> {info['status']} "
        f"until {info['expires_at']} (patient notified by BreakGlassActivated)"
    )
    note = NoteStore().path(consent.note_name("reason", episode))
    console.print(
        f"reason           on chain only as a salted commitment {info['reason_hash'][:18]}...; "
        f"text + salt kept off chain in {note}"
    )
    record_ref = ctx.shared.get("lab_record") or b"\x00" * 32
    consent.record_access(patient, "Condition", "read", "ETREAT", record_ref, sender=provider)
    consent.close_break_glass(episode, sender=provider)  # or the privacy officer / admin
    console.print(f"awaiting review  {consent.awaiting_review()} episode(s)")
    consent.review_break_glass(
        episode, True, "justified: patient unresponsive", sender=acc["privacy_officer"]
    )
    console.print(f"review           episode {episode} -> {consent.episode(episode)['status']}")

    # 4. the patient's audit trail from events
    trail = consent.audit(patient, from_block=first_block)
    table = Table(title="patient audit trail (from chain events)")
    for column in ("block", "event", "who", "detail"):
        table.add_column(column)
    for event in trail:
        f = event.fields
        who = f.get("grantee") or f.get("clinician") or f.get("approver") or f.get("officer") or ""
        detail = ", ".join(
            f"{k}={v}"
            for k, v in f.items()
            if k in ("scope", "actions", "action", "purposes", "purpose", "episodeId", "accepted")
        )
        table.add_row(str(event.block), event.event, str(who)[:10], detail)
    console.print(table)
    ctx.shared["consent"] = {
        "episode": episode,
        "audit_events": len(trail),
        "scope": scope_label(RECORD_SCOPE),
    }
