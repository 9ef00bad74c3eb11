"""Session fixtures shared by every test: named role accounts and one full deploy of
every medchain contract on the connected chain (in-process EthTester by default)."""

from __future__ import annotations

from pathlib import Path

import ape
import pytest

from medchain.demo import ROLES, role_accounts

# ape isolates tests by chain snapshots, and when a session fixture it cannot tell is
# stateless first appears in the middle of a module it "rebases": it reverts the chain to
# the module's start and re-runs only the fixtures it saw transact, so a module fixture
# wrapping a re-deployed contract (a client) keeps the old, now empty, address. Which
# module first asks for a session fixture depends on the selection (`-k`, a path, a lane
# of tools/test.sh), so: fixtures that hold no chain state say so (chain_isolation=False),
# and the one that does (`deployed`) is set up before the first test that runs.


@ape.fixture(scope="session", chain_isolation=False)
def roles(accounts):
    return role_accounts(accounts)


def _role_fixture(role: str):
    @ape.fixture(scope="session", name=role, chain_isolation=False)
    def fixture(roles):
        return roles[role]

    return fixture


for _role in ROLES:
    globals()[f"_fixture_{_role}"] = _role_fixture(_role)


@pytest.fixture(scope="session", autouse=True)
def _isolate_only_the_in_process_chain():
    """ape isolates tests by snapshots of the connected chain, and switches isolation off for
    the rest of the session the first time a snapshot fails. Tests that reach anvil or geth
    by URI (networks.parse_network_choice) are connected to ape's generic node provider,
    which has no snapshots: without this, one such test left every later test of the
    session un-isolated. Isolation applies to the in-process chain; a test that connects
    to a node by URI manages that node itself."""
    from ape.pytest.fixtures import IsolationManager

    from medchain.deployments import connected_to_in_process_chain

    def on_in_process_chain() -> bool:
        try:
            return connected_to_in_process_chain()
        except Exception:  # not connected at all
            return False

    take, restore = IsolationManager.take_snapshot, IsolationManager.restore

    def take_snapshot(self):
        return take(self) if on_in_process_chain() else None

    def restore_in_process(self, scope):
        if on_in_process_chain():
            restore(self, scope)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(IsolationManager, "take_snapshot", take_snapshot)
        patch.setattr(IsolationManager, "restore", restore_in_process)
        yield


@ape.fixture(scope="session", chain_isolation=False)
def book_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("deployments")


@pytest.fixture(scope="session")
def deployed(roles, book_dir):
    """Every contract the domains' deploy specs declare, deployed and wired, recorded in a temp book."""
    from medchain.deploy import deploy_all
    from medchain.deployments import AddressBook

    ctx, _ = deploy_all(
        roles["deployer"], AddressBook(book_dir / "session"), accounts=roles, log=lambda _: None
    )
    return ctx


def pytest_collection_finish(session):
    """`deployed` (chain state, session scope) is set up by the first test that runs
    whenever any selected test uses it (see the comment at the top). After collection,
    not in modifyitems: -k, -m and tools/test.sh's lanes deselect there."""
    items = session.items
    if any("deployed" in item.fixturenames for item in items) and (
        "deployed" not in items[0].fixturenames
    ):
        items[0].fixturenames.insert(0, "deployed")


@pytest.hookimpl(trylast=True)
def pytest_exception_interact(node, call, report):
    """After ape's own report of a failure: the project's frames only, without locals, so
    the message leads (support/reports.py says why)."""
    from support.reports import without_venv_frames

    if call.excinfo is None:
        return
    without_venv_frames(call.excinfo)
    report.longrepr = call.excinfo.getrepr(
        funcargs=True, showlocals=False, style="short", tbfilter=False, chain=True
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test reports the crash text of every geth node that died while it ran."""
    from support.reports import geth_crashes

    report = yield
    if report.failed and call.when in ("setup", "call"):
        basetemp = item.config._tmp_path_factory.getbasetemp()
        for title, text in geth_crashes(basetemp, since=call.start - 60):
            report.sections.append((title, text))
    return report


# `make fuzz` (MEDCHAIN_FUZZ=1) records each state machine's depth and time.
_fuzz_runs: list[dict[str, object]] = []


def pytest_runtest_logreport(report):
    from support.fuzzing import FUZZ, FUZZ_EXAMPLES, FUZZ_STEPS

    if FUZZ and report.when == "call" and "statemachine" in report.keywords:
        _fuzz_runs.append(
            {
                "test": report.nodeid,
                "outcome": report.outcome,
                "examples": FUZZ_EXAMPLES,
                "steps_per_example": FUZZ_STEPS,
                "seconds": round(report.duration, 1),
            }
        )


def pytest_sessionfinish(session):
    import datetime as dt
    import json

    if not _fuzz_runs:
        return
    out = Path(__file__).resolve().parents[1] / "bench" / "results" / "fuzz.json"
    previous = json.loads(out.read_text())["machines"] if out.exists() else []
    merged = {m["test"]: m for m in previous}
    merged.update({m["test"]: m for m in _fuzz_runs})
    out.write_text(
        json.dumps(
            {
                "recorded": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "how": "make fuzz: every @pytest.mark.statemachine test at MEDCHAIN_FUZZ depth",
                "machines": sorted(merged.values(), key=lambda m: str(m["test"])),
            },
            indent=2,
        )
        + "\n"
    )
