"""The key-delivery agent behind `medchain genomics serve-keys`.

It follows `LicencePurchased` events and, for each licence on a dataset it serves, wraps
the dataset key to the licensee's current DID key-agreement (X25519) key (the newest
valid one the DID lists), stores the envelope and posts its reference on chain, which
starts the licence and its review window. Once a review window has passed undisputed it
releases the escrow into the owner's balances.

Restart-safe by construction:
* a cursor (last block scanned, last log handled) is saved to a JSON file after every
  log, so a restart resumes where it stopped and never skips a purchase;
* before posting, it reads the licence on chain and posts only while it is `Pending`
  with no envelope digest, so a re-run after a crash between posting and saving never
  posts twice (and the contract refuses a second post anyway);
* licences it cannot serve yet (the researcher has no key-agreement key published)
  are kept in the state file and retried on every poll until their delivery deadline;
* delivered licences are kept until their review window closes, then released (a
  licensee's acceptance or dispute takes them off the list).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from medchain.crypto import EnvelopeContext, seal_key
from medchain.files import write_json
from medchain.genomics.client import GenomicsClient, LicenceStatus, split_licence_id
from medchain.genomics.data import SCHEMA_VERSION, Keyring, read_metadata
from medchain.logs import reader_for_contracts
from medchain.storage import ContentStore

KeyResolver = Callable[[str], list[tuple[str, bytes]]]  # address -> [(key id, X25519 pub)]


@dataclass
class AgentState:
    scanned_to: int = -1  # every block <= scanned_to fully handled
    last_block: int = -1  # last handled log inside a partially scanned range
    last_log_index: int = -1
    waiting: dict[str, int] = field(default_factory=dict)  # licence id hex -> key deadline
    reviewing: dict[str, int] = field(default_factory=dict)  # licence id hex -> review end
    delivered: int = 0
    released: int = 0

    @classmethod
    def load(cls, path: Path) -> AgentState:
        return cls(**json.loads(path.read_text())) if path.exists() else cls()

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # atomic: a crash leaves the old or the new cursor
        write_json(path, asdict(self), indent=None, sort_keys=True)


@dataclass(frozen=True)
class Outcome:
    licence_id: int
    # delivered | already-delivered | refunded | not-ours | late | waiting | no-key | released
    action: str
    envelope_cid: str = ""


class KeyAgent:
    def __init__(
        self,
        client: GenomicsClient,
        store: ContentStore,
        keyring: Keyring,
        state_path: Path | str,
        resolve_keys: KeyResolver,
        *,
        owners: set[str] | None = None,
        start_block: int = 0,
        log: Callable[[str], None] = lambda _: None,
        before_post: Callable[[int], None] | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
    ):
        self.client = client
        self.datasets = client.dataset_client()
        self.store = store
        self.keyring = keyring
        self.state_path = Path(state_path)
        self.resolve_keys = resolve_keys
        sender = str(client.sender.address) if client.sender is not None else ""
        self.owners = {o.lower() for o in (owners or {sender})}
        self.log = log
        self.before_post = before_post  # test hook: called right before each post
        self.on_outcome = on_outcome  # structured report of each outcome (CLI --json)
        self.state = AgentState.load(self.state_path)
        if self.state.scanned_to < 0:
            self.state.scanned_to = start_block - 1

    def poll_once(self) -> list[Outcome]:
        """Handle every purchase up to the current head, then retry waiting licences."""
        from ape import chain

        head = int(chain.blocks.head.number)
        outcomes: list[Outcome] = []
        start = self.state.scanned_to + 1
        if start <= head:
            logs = reader_for_contracts(self.client).read(start, head, names="LicencePurchased")
            for lg in logs:
                position = (lg.block_number, lg.log_index)
                if position <= (self.state.last_block, self.state.last_log_index):
                    continue  # handled before a restart
                outcomes.append(self._handle(int(lg.args["licenceId"])))
                self.state.last_block, self.state.last_log_index = position
                self.state.save(self.state_path)
            self.state.scanned_to = head
            self.state.save(self.state_path)
        for hex_id in list(self.state.waiting):
            outcome = self._handle(int(hex_id, 16))
            if outcome.action != "waiting":
                outcomes.append(outcome)
        outcomes.extend(self._release_reviewed())
        return outcomes

    def _release_reviewed(self) -> list[Outcome]:
        """Release the escrow of delivered licences whose review window closed undisputed."""
        from ape import chain

        now = int(chain.pending_timestamp)
        released = []
        for hex_id, review_end in list(self.state.reviewing.items()):
            if now <= review_end:
                continue
            licence_id = int(hex_id, 16)
            if self.client.licence(licence_id).status == LicenceStatus.DELIVERED:
                self.client.release_escrow(licence_id)
                self.state.released += 1
                released.append(Outcome(licence_id, "released"))
            # accepted, disputed or refunded meanwhile: nothing left for the agent to do
            del self.state.reviewing[hex_id]
            self.state.save(self.state_path)
        return released

    def run(self, *, interval: float = 2.0, max_polls: int | None = None) -> int:
        """Poll until interrupted (or `max_polls`); returns the keys delivered."""
        polls = 0
        while max_polls is None or polls < max_polls:
            for outcome in self.poll_once():
                self.log(
                    f"licence {outcome.licence_id:#x}: {outcome.action} {outcome.envelope_cid}"
                )
                if self.on_outcome is not None:
                    self.on_outcome(outcome)
            polls += 1
            if max_polls is None or polls < max_polls:
                time.sleep(interval)
        return self.state.delivered

    def _handle(self, licence_id: int) -> Outcome:
        from ape import chain

        hex_id = f"{licence_id:#x}"
        dataset_id, researcher = split_licence_id(licence_id)
        info = self.datasets.dataset(dataset_id)
        if info.owner.lower() not in self.owners:
            return self._done(hex_id, Outcome(licence_id, "not-ours"))
        lic = self.client.licence(licence_id)
        if (
            lic.status in (LicenceStatus.DELIVERED, LicenceStatus.RELEASED, LicenceStatus.DISPUTED)
            or self.client.envelope_digest(licence_id) != b"\0" * 32
        ):
            if lic.status == LicenceStatus.DELIVERED:
                self._track_review(hex_id, lic.deadline)
            return self._done(hex_id, Outcome(licence_id, "already-delivered"))
        if lic.status != LicenceStatus.PENDING:
            return self._done(hex_id, Outcome(licence_id, lic.status.name.lower()))
        if int(chain.pending_timestamp) > lic.key_deadline:
            return self._done(hex_id, Outcome(licence_id, "late"))
        data_key = self.keyring.get(info.data_cid)
        if data_key is None:
            return self._done(hex_id, Outcome(licence_id, "no-key"))
        keys = self.resolve_keys(researcher)
        if not keys:
            self.state.waiting[hex_id] = lic.key_deadline
            self.state.save(self.state_path)
            return Outcome(licence_id, "waiting")
        meta = read_metadata(self.store, info)
        context = EnvelopeContext(
            bytes.fromhex(meta.record_id), SCHEMA_VERSION, meta.chain_id, meta.registry
        )
        # every key the researcher's DID publishes (several devices): one envelope set
        envelope = seal_key(data_key, context, [(public, key_id) for key_id, public in keys])
        cid = str(self.store.add(envelope))
        if self.before_post is not None:
            self.before_post(licence_id)
        self.client.deliver_key(licence_id, cid, hashlib.sha256(envelope).digest())
        self.state.delivered += 1
        self._track_review(hex_id, self.client.licence(licence_id).deadline)
        return self._done(hex_id, Outcome(licence_id, "delivered", cid))

    def _track_review(self, hex_id: str, review_end: int) -> None:
        self.state.reviewing[hex_id] = review_end
        self.state.save(self.state_path)

    def _done(self, hex_id: str, outcome: Outcome) -> Outcome:
        if self.state.waiting.pop(hex_id, None) is not None:
            self.state.save(self.state_path)
        return outcome
