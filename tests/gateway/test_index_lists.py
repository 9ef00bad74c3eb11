"""The index serves the list queries: on anvil, after the demo's identity, records,
consent, supply, trials and genomics steps, an index follows the chain; one more grant
lands after its head. Each of the five list queries (records by patient, grants by
grantee, licences by researcher, custody history of a lot, trial entries) gives the same
answer through `LogReader` with the index as without it, and with it the node is asked
only for the blocks after the index's head. The SDK's list methods give the same output
with `MEDCHAIN_INDEX` set as without it."""

from __future__ import annotations

import io
from typing import Any

import pytest

from support.anvil import SDK_CHAIN_ID, anvil

pytestmark = pytest.mark.anvil
DEMO_STEPS = {"identity", "records", "consent", "supply", "trials", "genomics"}
CONSENT_EVENTS = ("ConsentGranted", "ConsentDenied", "ConsentRevoked")
CUSTODY_MOVES = ("Shipped", "Received", "ShipmentCancelled")


@pytest.fixture(scope="module")
def chain_with_index(tmp_path_factory):
    from ape import accounts, networks
    from rich.console import Console
    from web3 import HTTPProvider, Web3

    from medchain.consent import ConsentClient
    from medchain.demo import DemoContext, fund_roles, role_accounts, run_all
    from medchain.deploy import deploy_all
    from medchain.deployments import AddressBook
    from medchain.indexer import Indexer
    from medchain.storage.embedded import EmbeddedStore

    tmp = tmp_path_factory.mktemp("index-lists")
    with (
        anvil("--accounts", "20", "--chain-id", str(SDK_CHAIN_ID)) as uri,
        networks.parse_network_choice(uri),
    ):
        roles = role_accounts(accounts.test_accounts)
        fund_roles(roles)  # anvil funds 20 accounts; the roles past them (registrar, ...) too
        book = AddressBook(tmp / "book")
        ctx, _ = deploy_all(roles["deployer"], book, accounts=roles, log=lambda _: None)
        demo = DemoContext(Console(file=io.StringIO()), roles, ctx.contracts, book,
                           EmbeddedStore(tmp / "ipfs"))  # fmt: skip
        assert set(run_all(demo, only=DEMO_STEPS)) == DEMO_STEPS
        web3 = Web3(HTTPProvider(uri))
        db = tmp / "index.db"
        indexer = Indexer.for_book(web3, book, f"sqlite:///{db}")
        indexed = indexer.sync().last
        # A grant after the index's head: the reader must take it from the node's tail.
        consent = ConsentClient(ctx.contracts["ConsentRegistry"], roles["patient"])
        consent.grant(roles["patient"], roles["provider"], "Condition", "read", "TREAT")
        yield {
            "web3": web3, "book": book, "roles": roles, "ctx": ctx, "demo": demo,
            "db": db, "indexed": indexed, "indexer": indexer,
        }  # fmt: skip


def _queries(env: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The five list queries as reader calls (names + where), each a list of steps."""
    roles, shared = env["roles"], env["demo"].shared
    lot = shared["supply"]["lot_id"]
    return {
        "records by patient": [
            {"names": "RecordAnchored", "where": {"patient": roles["patient"].address}}
        ],
        "grants by grantee": [
            {"names": CONSENT_EVENTS, "where": {"grantee": roles["provider"].address}}
        ],
        "licences by researcher": [
            {"names": "LicencePurchased", "where": {"researcher": roles["researcher"].address}}
        ],
        "custody of a lot": [{"where": {"lotId": lot}}],
        "trial entries": [{"where": {"trialId": shared["trials"]["trial_id"]}}],
    }


def _containers(events: list[Any], lot: bytes) -> set[bytes]:
    return {bytes(lot)} | {bytes(e.args["containerId"]) for e in events if e.name == "Aggregated"}


def test_each_list_query_is_the_same_with_the_index_and_asks_the_node_only_for_the_tail(
    chain_with_index,
):
    from medchain.logs import reader_for_book

    env = chain_with_index
    lot = env["demo"].shared["supply"]["lot_id"]
    for label, steps in _queries(env).items():
        plain = reader_for_book(env["web3"], env["book"], index=False)
        indexed = reader_for_book(env["web3"], env["book"], index=str(env["db"]))
        head = plain.head()
        without = [e for step in steps for e in plain.read(to_block=head, **step)]
        with_index = [e for step in steps for e in indexed.read(to_block=head, **step)]
        if label == "custody of a lot":  # then the moves of the lot and its containers
            moves = {"names": CUSTODY_MOVES, "where": {"containerId": sorted(_containers(without, lot))}}  # fmt: skip
            without += plain.read(to_block=head, **moves)
            with_index += indexed.read(to_block=head, **moves)
        assert without, f"{label}: the demo left nothing to list"
        assert with_index == without, label
        assert indexed.indexed_through == env["indexed"], label
        tail = head - env["indexed"]
        assert tail > 0 and indexed.blocks == tail * indexed.queries, label
        assert indexed.queries <= plain.queries, label
    grants = plain.read(names=CONSENT_EVENTS, where={"grantee": env["roles"]["provider"].address})
    assert grants[-1].block_number > env["indexed"], "the tail's grant is listed"


def test_the_sdk_lists_are_the_same_with_medchain_index_and_read_it(chain_with_index, monkeypatch):
    """Each SDK list method gives the same output with MEDCHAIN_INDEX as without it, reads
    the index, and asks the node for no block the index holds."""
    from medchain.consent import ConsentClient
    from medchain.genomics.client import GenomicsClient
    from medchain.logs import INDEX_ENV, STATS
    from medchain.records import RecordsClient
    from medchain.supply.client import SupplyClient
    from medchain.trials.client import TrialsClient

    env = chain_with_index
    roles, contracts, shared = env["roles"], env["ctx"].contracts, env["demo"].shared
    lists = {
        "records by patient": lambda: RecordsClient(contracts["RecordRegistry"]).records_of(
            roles["patient"]
        ),
        "grants of the patient": lambda: ConsentClient(contracts["ConsentRegistry"]).grants_of(
            roles["patient"]
        ),
        "grants to the provider": lambda: ConsentClient(contracts["ConsentRegistry"]).grants_to(
            roles["provider"]
        ),
        "licences by researcher": lambda: GenomicsClient(contracts["GenomicLicensing"]).licences_of(
            roles["researcher"]
        ),
        "custody of a lot": lambda: SupplyClient(contracts["SerialRegistry"]).custody_history(
            shared["supply"]["lot_id"]
        ),
        "trial entries": lambda: TrialsClient(contracts["TrialRegistry"]).export(
            shared["trials"]["trial_id"]
        )["entries"],
    }
    for name, listing in lists.items():
        monkeypatch.delenv(INDEX_ENV, raising=False)
        without = listing()
        assert without, f"{name}: the demo left nothing to list"
        monkeypatch.setenv(INDEX_ENV, str(env["db"]))
        reads, queries, blocks = STATS.index_reads, STATS.node_queries, STATS.node_blocks
        assert listing() == without, name
        assert STATS.index_reads > reads, f"{name}: the index was not read"
        head = env["web3"].eth.block_number
        tail = head - env["indexed"]
        assert STATS.node_blocks - blocks <= tail * (STATS.node_queries - queries), name


def test_an_index_the_node_has_reorged_past_or_that_lacks_a_contract_is_not_used(
    chain_with_index,
):
    from eth_utils import to_checksum_address

    from medchain.codec import scope_code
    from medchain.indexer import Indexer
    from medchain.logs import LogReader, reader_for_book

    env = chain_with_index
    web3, book = env["web3"], env["book"]
    query = {"names": CONSENT_EVENTS, "where": {"patient": env["roles"]["patient"].address}}
    # a contract the index does not follow: the node answers everything
    stranger = to_checksum_address((4242).to_bytes(20, "big"))
    consent = book.get("ConsentRegistry")
    mixed = LogReader(web3, {consent.address: consent.abi, stranger: consent.abi},
                      index=str(env["db"]))  # fmt: skip
    assert mixed.read(**query) == reader_for_book(web3, book, index=False).read(**query)
    assert mixed.indexed_through == -1 and mixed.queries > 0

    # the index takes in a grant, then the node drops that block for another one
    db = env["db"].with_name("reorged.db")
    indexer = Indexer.for_book(web3, book, f"sqlite:///{db}")
    snapshot = web3.provider.make_request("evm_snapshot", [])["result"]
    env["ctx"].contracts["ConsentRegistry"].grant(
        env["roles"]["patient"], to_checksum_address((7001).to_bytes(20, "big")),
        scope_code("Observation"), 1, 1, 0, 2**40 - 1, sender=env["roles"]["patient"],
    )  # fmt: skip
    indexer.sync()
    assert web3.provider.make_request("evm_revert", [snapshot])["result"] is True
    web3.provider.make_request("evm_mine", [])
    stale = reader_for_book(web3, book, index=str(db))
    fresh = reader_for_book(web3, book, index=False).read(**query)
    assert stale.read(**query) == fresh and stale.indexed_through == -1
    assert all(e.args["grantee"] != to_checksum_address((7001).to_bytes(20, "big")) for e in fresh)
