"""Hypothesis state machine over GenomicLicensing with hostile actors and a Python model.

Every role acts at random, in and out of turn: researchers buy, accept, dispute, refund;
the owner delivers keys; the arbiter resolves disputes; anyone (an outsider included)
tries every call, including delivering someone else's key, accepting or disputing another
researcher's licence, resolving disputes, changing the fee, releasing escrow early; time
moves on. Each step's success or refusal (by custom error name) is predicted by the model.

Invariants (per currency, ETH and an allowlisted ERC-20):
* escrow is paid out only for a licence the researcher could use: a key was posted before
  its delivery deadline, the licence then ran its whole paid duration from that moment,
  and the researcher accepted, let the review window pass undisputed, or lost a dispute;
* money is conserved: the contract holds exactly the escrow still held plus every pull
  balance, and what researchers paid in equals balances + withdrawals + refunds + escrow.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from medchain.errors import ContractRevert
from medchain.genomics import GenomicDatasetClient, GenomicsClient, licence_id_of
from medchain.genomics.deploy import MAX_FEE_BPS, PLATFORM_FEE_BPS
from support.deploy import deploy_fresh
from support.fuzzing import machine_settings
from support.genomics import DATA_CID, DAY, HMB, META_CID, ZERO, fresh_hash

DURATION, DELIVERY, REVIEW = 10 * DAY, 3 * DAY, 2 * DAY
# Every offer's terms (each currency has its own price).
OFFER_TERMS = {
    "duration": DURATION,
    "delivery_window": DELIVERY,
    "review_window": REVIEW,
    "purposes": HMB,
}
HELD = ("pending", "delivered", "disputed")


@dataclass
class Lic:
    amount: int
    fee_bps: int
    deadline: int  # key deadline while pending, review deadline once delivered
    status: str  # pending | delivered | released | disputed | refunded
    delivered_at: int = 0
    expires_at: int = 0
    released: bool = False


def _refused(call, *names: str) -> None:
    with pytest.raises(ContractRevert) as info:
        call()
    assert info.value.error_name in names, f"{info.value.error_name} not in {names}"


def _attempt(call, error: str | None) -> bool:
    """`call` must revert with `error`, or succeed when `error` is None; True when it ran."""
    if error is not None:
        _refused(call, error)
        return False
    call()
    return True


@pytest.mark.statemachine
def test_escrow_pays_only_usable_licences_and_money_is_conserved(project, chain, roles):
    deployer, owner, lab, treasury = (roles[r] for r in ("deployer", "patient", "lab", "sponsor"))
    researchers = [roles[r] for r in ("researcher", "provider", "pharmacy")]
    outsider = roles["manufacturer"]
    everyone = [owner, lab, treasury, deployer, outsider, *researchers]

    class Market(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            # Shipped specs, but the fee treasury is its own account (the shipped one is the
            # admin), so the ledger can tell platform fees from anything the admin holds.
            fees_apart = {
                "GenomicLicensing": lambda ctx: (
                    ctx.address_of("GenomicDataset"),
                    deployer.address,
                    treasury.address,
                    PLATFORM_FEE_BPS,
                    MAX_FEE_BPS,
                )
            }
            deployed = deploy_fresh(
                deployer, "GenomicLicensing", accounts=roles, overrides=fees_apart
            )
            self.token = deployed.contracts["GenomicDataset"]
            self.market = deployed.contracts["GenomicLicensing"]
            self.erc20 = deployer.deploy(project.TestToken)
            self.market.setCurrencyAllowed(self.erc20, True, sender=deployer)
            datasets = GenomicDatasetClient(self.token, owner)
            seller = GenomicsClient(self.market, owner)
            self.currencies = [ZERO, str(self.erc20.address)]
            self.offers, self.datasets = [], []
            for currency, price in zip(self.currencies, [1_000_003, 777_779], strict=True):
                d = datasets.list(DATA_CID, fresh_hash(), META_CID, lab.address, 700, lab=lab)
                self.datasets.append(d)
                self.offers.append(
                    seller.create_offer(d, price=price, currency=currency, **OFFER_TERMS)
                )
            for r in researchers:
                self.erc20.mint(r, 10**12, sender=deployer)
                self.erc20.approve(self.market, 2**255, sender=r)
            self.fee_bps = PLATFORM_FEE_BPS
            self.licences: dict[tuple[int, int], Lic] = {}
            self.paid_in = [0, 0]
            self.refunded = [0, 0]
            self.withdrawn = [0, 0]
            self.balances: dict[tuple[str, int], int] = {}

        def _lid(self, which: int, r: int) -> int:
            return licence_id_of(self.datasets[which], researchers[r].address)

        def _licence(self, actor, which: int, r: int) -> tuple[Lic | None, GenomicsClient, int]:
            """The model's licence of researcher `r` on dataset `which`, a client acting as
            `actor`, and the licence id."""
            lic = self.licences.get((which, r))
            return lic, GenomicsClient(self.market, actor), self._lid(which, r)

        def _status_error(self, lic: Lic | None, status: str, error: str) -> str | None:
            """`error` unless the licence exists and is in `status`."""
            return None if lic is not None and lic.status == status else error

        def _licensee_call(
            self, actor, which: int, r: int, status: str, wrong_status: str
        ) -> tuple[Lic | None, GenomicsClient, int, str | None]:
            """`_licence`, and the error of a call only researcher `r` may make, and only on
            a licence in `status` (`wrong_status` otherwise): None when it may succeed."""
            lic, client, lid = self._licence(actor, which, r)
            if actor != researchers[r]:
                return lic, client, lid, "GenomicLicensingNotLicensee"
            return lic, client, lid, self._status_error(lic, status, wrong_status)

        def _credit(self, account: str, which: int, amount: int) -> None:
            key = (account, which)
            self.balances[key] = self.balances.get(key, 0) + amount

        def _released(self, lic: Lic, which: int, r: int) -> None:
            # Paid out only for a licence the researcher could use: key posted in time,
            # full term from delivery (checked against the chain's record too).
            assert lic.delivered_at and lic.expires_at == lic.delivered_at + DURATION
            assert self.market.licence(self._lid(which, r)).expiresAt == lic.expires_at
            royalty = lic.amount * 700 // 10_000
            fee = lic.amount * lic.fee_bps // 10_000
            self._credit(lab.address, which, royalty)
            self._credit(treasury.address, which, fee)
            self._credit(owner.address, which, lic.amount - royalty - fee)
            lic.status, lic.released = "released", True

        @rule(r=st.integers(0, 2), which=st.integers(0, 1))
        def buy(self, r: int, which: int) -> None:
            now = chain.pending_timestamp
            prev = self.licences.get((which, r))
            open_ = prev is not None and (
                prev.status in HELD or (prev.status == "released" and prev.expires_at > now)
            )
            client = GenomicsClient(self.market, researchers[r])
            if open_:
                _refused(lambda: client.buy(self.offers[which], HMB), "GenomicLicensingLicenceOpen")
                return
            lic = client.buy(self.offers[which], HMB)
            assert lic.fee_bps == self.fee_bps
            self.licences[(which, r)] = Lic(lic.amount, lic.fee_bps, lic.deadline, "pending")
            self.paid_in[which] += lic.amount
            assert not self.market.isLicensed(self.datasets[which], researchers[r], HMB)

        @rule(actor=st.sampled_from(everyone), r=st.integers(0, 2), which=st.integers(0, 1))
        def deliver(self, actor, r: int, which: int) -> None:
            lic, client, lid = self._licence(actor, which, r)
            error = None
            if lic is None or lic.status != "pending":
                error = "GenomicLicensingNotAwaitingKey"
            elif chain.pending_timestamp > lic.deadline:
                error = "GenomicLicensingDeliveryClosed"
            elif actor != owner:
                error = "GenomicLicensingNotKeyAgent"
            if _attempt(lambda: client.deliver_key(lid, "bafyenv", b"\x22" * 32), error):
                at = chain.blocks.head.timestamp
                lic.status, lic.delivered_at = "delivered", at
                lic.expires_at, lic.deadline = at + DURATION, at + REVIEW

        @rule(actor=st.sampled_from(everyone), r=st.integers(0, 2), which=st.integers(0, 1))
        def accept(self, actor, r: int, which: int) -> None:
            lic, client, lid, error = self._licensee_call(
                actor, which, r, "delivered", "GenomicLicensingNotUnderReview"
            )
            if _attempt(lambda: client.accept_key(lid), error):
                self._released(lic, which, r)

        @rule(actor=st.sampled_from(everyone), r=st.integers(0, 2), which=st.integers(0, 1))
        def dispute(self, actor, r: int, which: int) -> None:
            lic, client, lid, error = self._licensee_call(
                actor, which, r, "delivered", "GenomicLicensingNotUnderReview"
            )
            if error is None and chain.pending_timestamp > lic.deadline:
                error = "GenomicLicensingReviewClosed"
            if _attempt(lambda: client.dispute_key(lid), error):
                lic.status = "disputed"
                assert not self.market.isLicensed(self.datasets[which], researchers[r], HMB)

        @rule(actor=st.sampled_from(everyone), r=st.integers(0, 2), which=st.integers(0, 1))
        def release(self, actor, r: int, which: int) -> None:
            lic, client, lid = self._licence(actor, which, r)
            error = self._status_error(lic, "delivered", "GenomicLicensingNotUnderReview")
            if error is None and chain.pending_timestamp <= lic.deadline:
                error = "GenomicLicensingReviewStillOpen"
            if _attempt(lambda: client.release_escrow(lid), error):
                self._released(lic, which, r)

        @rule(
            actor=st.sampled_from(everyone), r=st.integers(0, 2), which=st.integers(0, 1),
            refund=st.booleans(),
        )  # fmt: skip
        def resolve(self, actor, r: int, which: int, refund: bool) -> None:
            lic, client, lid = self._licence(actor, which, r)
            error = (
                "AccessControlUnauthorizedAccount"
                if actor != deployer
                else self._status_error(lic, "disputed", "GenomicLicensingNotDisputed")
            )
            if not _attempt(lambda: client.resolve_dispute(lid, refund), error):
                return
            if refund:
                lic.status = "refunded"  # escrow -> the researcher's pull balance
                self._credit(researchers[r].address, which, lic.amount)
            else:
                self._released(lic, which, r)

        @rule(actor=st.sampled_from(everyone), r=st.integers(0, 2), which=st.integers(0, 1))
        def refund(self, actor, r: int, which: int) -> None:
            lic, client, lid, error = self._licensee_call(
                actor, which, r, "pending", "GenomicLicensingNotAwaitingKey"
            )
            if error is None and chain.pending_timestamp <= lic.deadline:
                error = "GenomicLicensingDeliveryStillOpen"
            if _attempt(lambda: client.refund(lid), error):
                lic.status = "refunded"  # paid straight back to the researcher
                self.refunded[which] += lic.amount

        @rule(actor=st.sampled_from(everyone), which=st.integers(0, 1))
        def withdraw(self, actor, which: int) -> None:
            owed = self.balances.get((actor.address, which), 0)
            client = GenomicsClient(self.market, actor)
            if owed == 0:
                _refused(lambda: client.withdraw(self.currencies[which]),
                         "GenomicLicensingNothingToWithdraw")  # fmt: skip
                return
            assert client.withdraw(self.currencies[which]) == owed
            self.balances[(actor.address, which)] = 0
            self.withdrawn[which] += owed

        @rule(actor=st.sampled_from([deployer, outsider, owner]), bps=st.integers(0, 1_000))
        def set_fee(self, actor, bps: int) -> None:
            if actor != deployer:
                _refused(lambda: GenomicsClient(self.market, actor).transact(
                    "setPlatformFee", treasury.address, bps), "AccessControlUnauthorizedAccount")  # fmt: skip
                return
            self.market.setPlatformFee(treasury, bps, sender=deployer)
            self.fee_bps = bps  # applies to later purchases only (the model keeps lic.fee_bps)

        @rule(seconds=st.sampled_from([3_600, DAY, 2 * DAY + 1, 3 * DAY + 1, 11 * DAY]))
        def travel(self, seconds: int) -> None:
            chain.pending_timestamp = chain.pending_timestamp + seconds
            chain.mine()

        @invariant()
        def money_is_conserved(self) -> None:
            for which, currency in enumerate(self.currencies):
                escrow = sum(
                    lic.amount
                    for (w, _), lic in self.licences.items()
                    if w == which and lic.status in HELD
                )
                balances = sum(v for (_, w), v in self.balances.items() if w == which)
                total = balances + self.withdrawn[which] + self.refunded[which] + escrow
                assert self.paid_in[which] == total
                held = (
                    chain.provider.get_balance(self.market.address)
                    if currency == ZERO
                    else self.erc20.balanceOf(self.market)
                )
                assert held == balances + escrow
                for account in everyone:
                    assert self.market.balanceOf(account, currency) == self.balances.get(
                        (account.address, which), 0
                    )

        @invariant()
        def only_delivered_running_licences_count(self) -> None:
            now = chain.blocks.head.timestamp
            for (which, r), lic in self.licences.items():
                expected = lic.status in ("delivered", "released") and lic.expires_at > now
                got = self.market.isLicensed(self.datasets[which], researchers[r], HMB)
                assert got == expected, (lic, now)

    run_state_machine_as_test(Market, settings=machine_settings(3, 14))
