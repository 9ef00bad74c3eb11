"""Hypothesis state machine over GenomicLicensing with a Python model of every balance.

Invariant (per currency, ETH and an ERC-20): everything researchers paid in equals the
pull balances plus withdrawals plus refunds plus escrow still held, and the contract
holds exactly balances + escrow. Purchases, deliveries, refunds, withdrawals, fee
changes and time travel interleave at random; each step's success or refusal is
predicted by the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from genomics_helpers import DATA_CID, DAY, HMB, META_CID, ZERO
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from medchain.errors import ContractRevert
from medchain.genomics import GenomicDatasetClient, GenomicsClient, licence_id_of


@dataclass
class Lic:
    amount: int
    key_deadline: int
    expires_at: int
    status: str  # pending | delivered | refunded


def test_money_is_conserved(project, chain, roles):
    deployer, owner, lab, treasury = (roles[r] for r in ("deployer", "patient", "lab", "sponsor"))
    researchers = [roles[r] for r in ("researcher", "provider", "pharmacy")]

    class Market(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.token = deployer.deploy(project.GenomicDataset, 2_500)
            self.market = deployer.deploy(
                project.GenomicLicensing, self.token, deployer, treasury, 250, 1_000
            )
            self.erc20 = deployer.deploy(project.TestToken)
            datasets = GenomicDatasetClient(self.token, owner)
            seller = GenomicsClient(self.market, owner)
            self.currencies = [ZERO, str(self.erc20.address)]
            self.prices = [1_000_003, 777_779]
            self.offers = []
            for currency, price in zip(self.currencies, self.prices, strict=True):
                d = datasets.list(DATA_CID, b"\x11" * 32, META_CID, lab.address, 700)
                self.offers.append(
                    seller.create_offer(
                        d, price=price, duration=90 * DAY, purposes=HMB, currency=currency
                    )
                )
            for r in researchers:
                self.erc20.mint(r, 10**12, sender=deployer)
                self.erc20.approve(self.market, 2**255, sender=r)
            self.fee_bps = 250
            self.licences: dict[tuple[int, int], Lic] = {}
            self.paid_in = [0, 0]
            self.refunded = [0, 0]
            self.withdrawn = [0, 0]
            self.balances: dict[tuple[str, int], int] = {}

        def _lic_id(self, which: int, r: int) -> int:
            return licence_id_of(
                self.market.offer(self.offers[which]).datasetId, researchers[r].address
            )

        @rule(r=st.integers(0, 2), which=st.integers(0, 1))
        def buy(self, r: int, which: int) -> None:
            now = chain.pending_timestamp
            prev = self.licences.get((which, r))
            blocked = prev is not None and (
                prev.status == "pending" or (prev.status == "delivered" and prev.expires_at > now)
            )
            client = GenomicsClient(self.market, researchers[r])
            if blocked:
                with pytest.raises(ContractRevert) as info:
                    client.buy(self.offers[which], HMB)
                assert info.value.error_name == "LicensingLicenceOpen"
                return
            lic = client.buy(self.offers[which], HMB)
            self.licences[(which, r)] = Lic(lic.amount, lic.key_deadline, lic.expires_at, "pending")
            self.paid_in[which] += lic.amount

        @rule(r=st.integers(0, 2), which=st.integers(0, 1))
        def deliver(self, r: int, which: int) -> None:
            lic = self.licences.get((which, r))
            ok = (
                lic is not None
                and lic.status == "pending"
                and chain.pending_timestamp <= lic.key_deadline
            )
            client = GenomicsClient(self.market, owner)
            lid = self._lic_id(which, r)
            if not ok:
                with pytest.raises(ContractRevert) as info:
                    client.deliver_key(lid, "bafyenvelope", b"\x22" * 32)
                assert info.value.error_name in (
                    "LicensingNotAwaitingKey",
                    "LicensingDeliveryClosed",
                )
                return
            assert lic is not None
            client.deliver_key(lid, "bafyenvelope", b"\x22" * 32)
            royalty = lic.amount * 700 // 10_000
            fee = lic.amount * self.fee_bps // 10_000
            for account, share in (
                (lab.address, royalty),
                (treasury.address, fee),
                (owner.address, lic.amount - royalty - fee),
            ):
                key = (account, which)
                self.balances[key] = self.balances.get(key, 0) + share
            lic.status = "delivered"

        @rule(r=st.integers(0, 2), which=st.integers(0, 1))
        def refund(self, r: int, which: int) -> None:
            lic = self.licences.get((which, r))
            ok = (
                lic is not None
                and lic.status == "pending"
                and chain.pending_timestamp > lic.key_deadline
            )
            client = GenomicsClient(self.market, researchers[r])
            lid = self._lic_id(which, r)
            if not ok:
                with pytest.raises(ContractRevert):
                    client.refund(lid)
                return
            assert lic is not None
            client.refund(lid)
            lic.status = "refunded"
            self.refunded[which] += lic.amount

        @rule(who=st.sampled_from(["owner", "lab", "treasury"]), which=st.integers(0, 1))
        def withdraw(self, who: str, which: int) -> None:
            account = {"owner": owner, "lab": lab, "treasury": treasury}[who]
            owed = self.balances.get((account.address, which), 0)
            client = GenomicsClient(self.market, account)
            if owed == 0:
                with pytest.raises(ContractRevert) as info:
                    client.withdraw(self.currencies[which])
                assert info.value.error_name == "LicensingNothingToWithdraw"
                return
            assert client.withdraw(self.currencies[which]) == owed
            self.balances[(account.address, which)] = 0
            self.withdrawn[which] += owed

        @rule(bps=st.integers(0, 1_000))
        def set_fee(self, bps: int) -> None:
            self.market.setPlatformFee(treasury, bps, sender=deployer)
            self.fee_bps = bps

        @rule(seconds=st.sampled_from([3_600, DAY, 2 * DAY, 4 * DAY, 91 * DAY]))
        def travel(self, seconds: int) -> None:
            chain.pending_timestamp = chain.pending_timestamp + seconds
            chain.mine()

        @invariant()
        def money_is_conserved(self) -> None:
            for which, currency in enumerate(self.currencies):
                escrow = sum(
                    lic.amount
                    for (w, _), lic in self.licences.items()
                    if w == which and lic.status == "pending"
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
                for account in (owner, lab, treasury):
                    assert self.market.balanceOf(account, currency) == self.balances.get(
                        (account.address, which), 0
                    )

    run_state_machine_as_test(
        Market,
        settings=settings(
            max_examples=6,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
