"""Notifications on indexed events: subscriptions, a transactional outbox, a deliverer.

Topics (FHIR Subscription-style; a subscription names a recipient address and topics):

* `referral`: a `ServiceRequest` record whose key envelope was anchored for a party other
  than the patient and the author (the provider it was referred to) -> that party;
* `break-glass`: `BreakGlassActivated` -> the patient;
* `licence-key`: GenomicLicensing `KeyDelivered` -> the researcher;
* `recall`: SerialRegistry `LotRecalled` -> every partner the index knows took or is
  taking custody of the lot or of a container packed from it (the manufacturer, each
  `Shipped.to` and `Received.to`), except the partner who recalled.

`enqueue(conn, stored)` is called by the indexer inside the transaction that writes a
page's events, so an outbox row exists exactly when its event is indexed: a crash loses
neither, and a reorg that deletes the event deletes its undelivered rows too. A
subscription receives the events indexed after it was registered.

`Deliverer` POSTs each due row (a FHIR R4 backport-style notification Bundle, type
`history`, with a `Parameters` status entry) to the subscription's URL, signed with
HMAC-SHA256 under the subscription's secret:

    X-Medchain-Signature: sha256=<hex HMAC(secret, "<X-Medchain-Timestamp>." + body)>

A 2xx answer marks the row delivered; anything else (or no answer) retries after
`base_delay * 2**(attempts - 1)` seconds (at most `max_delay`), up to `max_attempts`,
after which the row is marked failed. Before sending, a deliverer leases the row with a
compare-and-set on `next_attempt`, so two deliverers on one database do not both send
it. Delivery is at least once: a deliverer killed after the receiver answered but before
the row was marked re-sends it after the lease; receivers dedupe on `X-Medchain-Delivery`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import and_, delete, insert, inspect, select, text, update
from sqlalchemy.engine import Connection, Engine

from medchain.crypto import canonical_json
from medchain.errors import InvalidInput
from medchain.indexer import (
    events_table,
    keys_table,
    make_engine,
    metadata,
    outbox_table,
    subscriptions_table,
)
from medchain.logs import Event

__all__ = [
    "DELIVERY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TOPICS",
    "Deliverer",
    "DeliveryReport",
    "Notice",
    "enqueue",
    "migrate",
    "notices",
    "open_db",
    "payload",
    "sign",
    "subscribe",
    "subscriptions",
    "unsubscribe",
    "verify",
]

TOPICS = ("referral", "break-glass", "licence-key", "recall")
TOPIC_BASE = "urn:medchain:topic:"
SIGNATURE_HEADER = "X-Medchain-Signature"
TIMESTAMP_HEADER = "X-Medchain-Timestamp"
DELIVERY_HEADER = "X-Medchain-Delivery"


@dataclass(frozen=True)
class Notice:
    topic: str
    recipient: str  # checksummed address
    focus: str | None = None  # a FHIR-style reference to what the event is about


# --------------------------------------------------------------------------- subscriptions


def open_db(db: str | Engine) -> Engine:
    engine = make_engine(db) if isinstance(db, str) else db
    metadata.create_all(engine)
    migrate(engine)
    return engine


def migrate(engine: Engine) -> None:
    """Add `outbox.failed` to index databases created before it existed."""
    columns = {c["name"] for c in inspect(engine).get_columns("outbox")}
    if "failed" not in columns:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE outbox ADD COLUMN failed FLOAT"))


def _topics(topics: Iterable[str]) -> str:
    wanted = [t.strip() for t in topics if t.strip()]
    if not wanted:
        raise InvalidInput(f"name at least one topic ({', '.join(TOPICS)} or *)")
    unknown = [t for t in wanted if t != "*" and t not in TOPICS]
    if unknown:
        raise InvalidInput(f"unknown topic(s) {unknown}: topics are {', '.join(TOPICS)} or *")
    return "*" if "*" in wanted else ",".join(sorted(set(wanted)))


def subscribe(
    db: str | Engine, recipient: str, url: str, topics: Iterable[str], secret: str | None = None
) -> dict[str, Any]:
    """Register a webhook for `recipient`'s notifications; returns the row, with the
    secret (generated when not given) the receiver verifies signatures with."""
    from medchain.consent.model import address_of

    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidInput(f"subscription URL {url!r} must be http(s)://host/...")
    if secret is not None and len(secret) < 16:
        raise InvalidInput("a subscription secret must be at least 16 characters")
    row = {
        "recipient": address_of(recipient, "recipient"),
        "url": url,
        "secret": secret or secrets.token_hex(32),
        "kinds": _topics(topics),
        "created": time.time(),
    }
    engine = open_db(db)
    with engine.begin() as conn:
        result = conn.execute(insert(subscriptions_table).values(**row))
        row["id"] = int(result.inserted_primary_key[0])  # type: ignore[index]
    return row


def subscriptions(db: str | Engine) -> list[dict[str, Any]]:
    """Every subscription, without secrets."""
    with open_db(db).connect() as conn:
        rows = conn.execute(select(subscriptions_table).order_by(subscriptions_table.c.id))
        return [
            {"id": r.id, "recipient": r.recipient, "url": r.url, "topics": r.kinds.split(",")}
            for r in rows
        ]


def unsubscribe(db: str | Engine, subscription_id: int) -> bool:
    """Remove a subscription and its undelivered notifications."""
    with open_db(db).begin() as conn:
        conn.execute(
            delete(outbox_table).where(
                outbox_table.c.subscription_id == subscription_id,
                outbox_table.c.delivered.is_(None),
            )
        )
        gone = conn.execute(
            delete(subscriptions_table).where(subscriptions_table.c.id == subscription_id)
        )
        return bool(gone.rowcount)


# --------------------------------------------------------------------------- rules


def _ids_where(conn: Connection, names: Iterable[str], **keys: str) -> list[Any]:
    query = select(events_table).where(events_table.c.name.in_(list(names)))
    for name, value in keys.items():
        query = query.where(
            events_table.c.id.in_(
                select(keys_table.c.event_id).where(
                    keys_table.c.name == name, keys_table.c.value == value
                )
            )
        )
    return list(conn.execute(query.order_by(events_table.c.block_number)))


def _args(row: Any) -> dict[str, Any]:
    return row.args if isinstance(row.args, dict) else json.loads(row.args)


def _hex(value: Any) -> str:
    return "0x" + bytes(value).hex() if isinstance(value, bytes | bytearray) else str(value)


def notices(conn: Connection, event: Event) -> list[Notice]:
    """Who `event` concerns, by topic (reads earlier indexed events through `conn`)."""
    from medchain.consent.codes import scope_id

    args = event.args
    if event.name == "BreakGlassActivated":
        return [Notice("break-glass", str(args["patient"]), f"episode/{args['episodeId']}")]
    if event.name == "KeyDelivered":
        return [Notice("licence-key", str(args["researcher"]), f"licence/{args['licenceId']}")]
    if event.name == "EnvelopeAnchored":
        record = _hex(args["recordId"])
        anchors = _ids_where(conn, ["RecordAnchored"], recordId=record)
        if not anchors:
            return []
        anchor = _args(anchors[-1])
        if _hex(bytes.fromhex(anchor["scope"][2:])) != _hex(scope_id("ServiceRequest")):
            return []
        recipient = str(args["recipient"])
        if recipient.lower() in (anchor["patient"].lower(), anchor["author"].lower()):
            return []
        return [Notice("referral", recipient, f"ServiceRequest/{record}")]
    if event.name == "LotRecalled":
        lot = _hex(args["lotId"])
        holders: list[str] = []
        for row in _ids_where(conn, ["LotCommissioned"], lotId=lot):
            holders.append(_args(row)["manufacturer"])
        containers = {lot} | {
            _args(r)["containerId"] for r in _ids_where(conn, ["Aggregated"], lotId=lot)
        }
        for container in sorted(containers):
            for row in _ids_where(conn, ["Shipped", "Received"], containerId=container.lower()):
                holders.append(_args(row)["to"])
        actor = str(args["actor"]).lower()
        seen: dict[str, str] = {}
        for holder in holders:
            if holder.lower() != actor:
                seen.setdefault(holder.lower(), holder)
        return [Notice("recall", h, f"lot/{lot}") for h in seen.values()]
    return []


def payload(
    subscription_id: int, notice: Notice, event_id: int, event: Event, sent_count: int = 0
) -> str:
    """The notification body: a FHIR R4 backport-style Bundle (type history) whose first
    entry is a Parameters status naming the subscription, topic and event."""
    status = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "subscription", "valueReference": {"reference": f"Subscription/{subscription_id}"}},
            {"name": "topic", "valueCanonical": TOPIC_BASE + notice.topic},
            {"name": "type", "valueCode": "event-notification"},
            {"name": "notification-event", "part": [
                {"name": "event-number", "valueString": str(event_id)},
                {"name": "focus", "valueReference": {"reference": notice.focus or ""}},
            ]},
            {"name": "recipient", "valueString": notice.recipient},
            {"name": "event", "valueString": json.dumps(event.to_json(), sort_keys=True)},
        ],
    }  # fmt: skip
    bundle = {"resourceType": "Bundle", "type": "history", "entry": [{"resource": status}]}
    return canonical_json(bundle).decode()


def enqueue(conn: Connection, stored: list[tuple[int, Event]]) -> int:
    """Write the outbox rows `stored` events cause, in the caller's transaction."""
    subs = list(conn.execute(select(subscriptions_table)))
    if not subs:
        return 0
    rows = []
    now = time.time()
    for event_id, event_ in stored:
        for notice in notices(conn, event_):
            for sub in subs:
                topics = sub.kinds.split(",")
                if sub.recipient.lower() != notice.recipient.lower():
                    continue
                if "*" not in topics and notice.topic not in topics:
                    continue
                rows.append({
                    "subscription_id": int(sub.id), "event_id": event_id, "kind": notice.topic,
                    "payload": payload(int(sub.id), notice, event_id, event_),
                    "attempts": 0, "next_attempt": now,
                })  # fmt: skip
    if rows:
        conn.execute(insert(outbox_table), rows)
    return len(rows)


# --------------------------------------------------------------------------- delivery


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(
    secret: str, headers: Mapping[str, str], body: bytes, *, tolerance: float = 300,
    now: float | None = None,
) -> bool:  # fmt: skip
    """What a receiver checks: the signature over timestamp + body, and a fresh timestamp."""
    lowered = {k.lower(): v for k, v in headers.items()}
    stamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    given = lowered.get(SIGNATURE_HEADER.lower(), "")
    if not stamp.isdigit() or abs((now or time.time()) - int(stamp)) > tolerance:
        return False
    return hmac.compare_digest(given, sign(secret, stamp, body))


@dataclass(frozen=True)
class DeliveryReport:
    attempted: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0


class Deliverer:
    """Sends due outbox rows; `run_once()` one pass, `run(stop)` until stopped."""

    def __init__(
        self, db: str | Engine, *, timeout: float = 10.0, base_delay: float = 1.0,
        max_delay: float = 300.0, max_attempts: int = 12, lease: float = 60.0,
        batch: int = 100, client: Any = None,
    ):  # fmt: skip
        import httpx

        if base_delay <= 0 or max_delay < base_delay or max_attempts < 1:
            raise InvalidInput("need 0 < base_delay <= max_delay and max_attempts >= 1")
        self.engine = open_db(db)
        self.base_delay, self.max_delay, self.max_attempts = base_delay, max_delay, max_attempts
        self.lease, self.batch = lease, batch
        self.client = client or httpx.Client(timeout=timeout)

    def delay(self, attempts: int) -> float:
        """Seconds before attempt `attempts + 1` (exponential, bounded)."""
        return float(min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1)))

    def pending(self) -> int:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(outbox_table.c.id).where(
                    outbox_table.c.delivered.is_(None), outbox_table.c.failed.is_(None)
                )
            )
            return len(rows.all())

    def run_once(self, now: float | None = None) -> DeliveryReport:
        now = time.time() if now is None else now
        with self.engine.connect() as conn:
            due = conn.execute(
                select(outbox_table, subscriptions_table.c.url, subscriptions_table.c.secret)
                .join(subscriptions_table,
                      subscriptions_table.c.id == outbox_table.c.subscription_id)
                .where(outbox_table.c.delivered.is_(None), outbox_table.c.failed.is_(None),
                       outbox_table.c.next_attempt <= now)
                .order_by(outbox_table.c.id)
                .limit(self.batch)
            ).all()  # fmt: skip
        attempted = delivered = retried = failed = 0
        for row in due:
            if not self._lease(row.id, row.next_attempt, now):
                continue  # another deliverer took it
            attempted += 1
            error = self._send(row)
            attempts = int(row.attempts) + 1
            values: dict[str, Any] = {"attempts": attempts, "last_error": error}
            if error is None:
                values["delivered"] = time.time()
                delivered += 1
            elif attempts >= self.max_attempts:
                values["failed"] = time.time()
                failed += 1
            else:
                values["next_attempt"] = time.time() + self.delay(attempts)
                retried += 1
            with self.engine.begin() as conn:
                conn.execute(
                    update(outbox_table).where(outbox_table.c.id == row.id).values(**values)
                )
        return DeliveryReport(attempted, delivered, retried, failed)

    def _lease(self, row_id: int, seen: float, now: float) -> bool:
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(outbox_table)
                .where(and_(outbox_table.c.id == row_id, outbox_table.c.next_attempt == seen,
                            outbox_table.c.delivered.is_(None)))
                .values(next_attempt=now + self.lease)
            )  # fmt: skip
            return bool(taken.rowcount)

    def _send(self, row: Any) -> str | None:
        body = row.payload.encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/fhir+json",
            DELIVERY_HEADER: str(row.id),
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(row.secret, stamp, body),
            "X-Medchain-Topic": row.kind,
        }
        try:
            answer = self.client.post(row.url, content=body, headers=headers)
        except Exception as exc:  # connection refused, timeout, TLS: retry later
            return f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= answer.status_code < 300:
            return None
        return f"HTTP {answer.status_code}: {answer.text[:200]}"

    def run(
        self, stop: threading.Event, *, poll: float = 1.0,
        log: Callable[[DeliveryReport], None] | None = None,
    ) -> None:  # fmt: skip
        while not stop.is_set():
            report = self.run_once()
            if log is not None and report.attempted:
                log(report)
            stop.wait(poll)

    def close(self) -> None:
        self.client.close()
