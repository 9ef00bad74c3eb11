"""A governed deploy of every contract per test module (the development timings: 2 of 3
members, 5-minute votes, a 10-minute timelock), the governance client, and `passed`, which
takes a proposal through 2 votes, queue, the delay and execution on the in-process chain."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from medchain.governance import Call, GovernanceClient, ProposalState
from medchain.governance.demo import advance_to
from medchain.governance.deploy import GOVERNOR, MEMBERSHIP, TIMELOCK

# Every contract with an admin, and TrialRegistry (per-trial roles, no admin) beside them.
NAMES = ("RecordRegistry", "ConsentRegistry", "SerialRegistry", "GenomicLicensing",
         "EligibilityRegistry", "TrialRegistry")  # fmt: skip


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    from medchain.deployments import AddressBook

    return AddressBook(tmp_path_factory.mktemp("governed") / "book")


@pytest.fixture(scope="module")
def governed(deployer, roles, book):
    """The shipped specs of NAMES and the governance contracts, deployed into `book` (which
    `propose_call` reads ABIs from) and handed over, as `ape run deploy --governance` does."""
    from medchain.deploy import deploy_all
    from medchain.governance.deploy import GOVERNANCE_CONTRACTS, GovernanceConfig, hand_over
    from support.deploy import specs_for

    ctx, _ = deploy_all(
        deployer, book, specs=specs_for((*NAMES, *GOVERNANCE_CONTRACTS)), accounts=roles,
        governance=GovernanceConfig.development(), log=lambda _: None,
    )  # fmt: skip
    hand_over(ctx, log=lambda _: None)
    return ctx


@pytest.fixture(scope="module")
def gov(governed, book):
    return GovernanceClient(governed.contracts[GOVERNOR], book=book)


@pytest.fixture(scope="module")
def timelock(governed):
    return governed.contracts[TIMELOCK]


@pytest.fixture(scope="module")
def membership(governed):
    return governed.contracts[MEMBERSHIP]


@pytest.fixture
def voted(gov, member1, member2) -> Callable[..., int]:
    """Propose `calls` (as member1 unless `proposer`), cast `votes` once voting opens (by
    default member1 and member2 for), and let the vote close; returns the proposal id."""

    def run(
        calls: Sequence[Call], description: str, votes: Sequence[tuple[Any, str]] | None = None,
        proposer: Any = member1,
    ) -> int:  # fmt: skip
        pid = gov.propose(calls, description, sender=proposer)
        advance_to(gov.proposal(pid).voting_starts_at)
        for account, support in (
            votes if votes is not None else ((member1, "for"), (member2, "for"))
        ):
            gov.vote(pid, support, sender=account)
        advance_to(gov.proposal(pid).voting_ends_at + 1)
        return pid

    return run


@pytest.fixture
def passed(gov, voted, member1) -> Callable[..., int]:
    """`voted` by member1 and member2, then queued, the timelock waited out, and executed."""

    def run(calls: Sequence[Call], description: str) -> int:
        pid = voted(calls, description)
        gov.queue(pid, sender=member1)
        advance_to(gov.proposal(pid).executable_at)
        gov.execute(pid, sender=member1)
        assert gov.state(pid) == ProposalState.Executed
        return pid

    return run
