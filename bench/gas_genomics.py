"""Gas of every GenomicDataset / GenomicLicensing write: listing (first and next for an
owner), offers (ETH, ERC-20), purchases (ETH first/repeat, ERC-20), key delivery (first
and next balances), withdrawals (ETH, ERC-20), refund, pause/resume/retire, key agents,
closing an offer, the platform fee. Purchase budget: <= 120,000 (issue 8)."""

from __future__ import annotations

from typing import Any

from medchain.genomics import GenomicsClient
from medchain.genomics.duo import mask

DAY = 86_400
HMB = mask("HMB")
ETH = "0x" + "00" * 20
MINT = 74_000
MINT_SOURCE = "OZ ERC-721 mint ~74,000 (issue 8 / domain.md)"


def _fresh(g: Any) -> Any:
    from ape import accounts

    account = accounts.test_accounts.generate_test_account()
    g.accounts["deployer"].transfer(account, 10**20)
    return account


def _purchase(market: Any, buyer: Any, offer_id: int, value: int) -> Any:
    # A fixed deadline keeps calldata (and so gas) identical from run to run.
    signature, deadline, _ = GenomicsClient(market, buyer).sign_terms(
        buyer, offer_id, HMB, deadline=4_000_000_000
    )
    return market.purchase(offer_id, HMB, deadline, signature, value=value, sender=buyer)


def measure(g: Any) -> None:
    from ape import project

    token, market = g.contracts["GenomicDataset"], g.contracts["GenomicLicensing"]
    deployer, lab = g.accounts["deployer"], g.accounts["lab"]
    owner, r1, r2, r3 = _fresh(g), _fresh(g), _fresh(g), _fresh(g)
    erc20 = deployer.deploy(project.TestToken)
    cid = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
    digest = bytes.fromhex("c3c4733ec8affd06cf9e9ff50ffc6bcd2ec85a6170004bb709669c31de94391a")

    rec = token.list(0x70, digest, b"\x11" * 32, 0x70, digest, lab, 500, sender=owner)
    g.record("GenomicDataset.list (first for owner, royalty)", rec, MINT, MINT_SOURCE)
    d1 = int(rec.events[0].datasetId)
    rec = token.list(0x70, digest, b"\x12" * 32, 0x70, digest, lab, 500, sender=owner)
    g.record("GenomicDataset.list (next)", rec, MINT, MINT_SOURCE)
    d2 = int(rec.events[0].datasetId)

    args = (10 * DAY, 3 * DAY, mask("GRU,HMB,DS,POA"), 1_000, b"\x33" * 32)
    rec = market.createOffer(d1, ETH, 10**16, *args, sender=owner)
    g.record("GenomicLicensing.createOffer (ETH)", rec)
    eth_offer = int(rec.events[0].offerId)
    rec = market.createOffer(d2, erc20, 10**18, *args, sender=owner)
    g.record("GenomicLicensing.createOffer (ERC-20)", rec)
    erc20_offer = int(rec.events[0].offerId)

    g.record(
        "GenomicLicensing.purchase (ETH, first)",
        _purchase(market, r1, eth_offer, 10**16),
        MINT,
        MINT_SOURCE,
    )
    _purchase(market, r2, eth_offer, 10**16)
    erc20.mint(r1, 10**20, sender=deployer)
    erc20.approve(market, 2**255, sender=r1)
    g.record(
        "GenomicLicensing.purchase (ERC-20, first)",
        _purchase(market, r1, erc20_offer, 0),
        MINT,
        MINT_SOURCE,
    )
    erc20.mint(r2, 10**20, sender=deployer)
    erc20.approve(market, 2**255, sender=r2)
    g.record(
        "GenomicLicensing.purchase (ERC-20, next)",
        _purchase(market, r2, erc20_offer, 0),
        MINT,
        MINT_SOURCE,
    )

    l1 = int(market.licenceIdOf(d1, r1))
    l2 = int(market.licenceIdOf(d1, r2))
    rec = market.deliverKey(l1, cid, b"\x44" * 32, sender=owner)
    g.record("GenomicLicensing.deliverKey (first balances)", rec)
    rec = market.setKeyAgent(deployer, True, sender=owner)
    g.record("GenomicLicensing.setKeyAgent", rec)
    rec = market.deliverKey(l2, cid, b"\x45" * 32, sender=deployer)
    g.record("GenomicLicensing.deliverKey (agent, next balances)", rec)
    market.deliverKey(int(market.licenceIdOf(d2, r1)), cid, b"\x46" * 32, sender=owner)

    g.record("GenomicLicensing.withdraw (ETH)", market.withdraw(ETH, sender=owner))
    g.record("GenomicLicensing.withdraw (ERC-20)", market.withdraw(erc20, sender=owner))

    _purchase(market, r3, eth_offer, 10**16)
    erc20.mint(r3, 10**20, sender=deployer)
    erc20.approve(market, 2**255, sender=r3)
    _purchase(market, r3, erc20_offer, 0)
    g.chain.pending_timestamp = g.chain.pending_timestamp + 3 * DAY + 60
    g.chain.mine()
    rec = market.refund(int(market.licenceIdOf(d1, r3)), sender=r3)
    g.record("GenomicLicensing.refund (ETH)", rec)
    rec = market.refund(int(market.licenceIdOf(d2, r3)), sender=r3)
    g.record("GenomicLicensing.refund (ERC-20)", rec)
    rec = token.transferFrom(owner, r3, d2, sender=owner)
    g.record("GenomicDataset.transferFrom (ERC-721)", rec)

    g.chain.pending_timestamp = g.chain.pending_timestamp + 10 * DAY
    g.chain.mine()
    g.record(
        "GenomicLicensing.purchase (ETH, renewal after expiry)",
        _purchase(market, r1, eth_offer, 10**16),
        MINT,
        MINT_SOURCE,
    )

    g.record("GenomicDataset.pause", token.pause(d1, sender=owner))
    g.record("GenomicDataset.resume", token.resume(d1, sender=owner))
    g.record("GenomicLicensing.closeOffer", market.closeOffer(eth_offer, sender=owner))
    g.record("GenomicDataset.retire", token.retire(d1, sender=owner))
    g.record(
        "GenomicLicensing.setPlatformFee", market.setPlatformFee(deployer, 300, sender=deployer)
    )
