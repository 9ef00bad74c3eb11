"""Gas of every GenomicDataset / GenomicLicensing write: lab-authorised listing (first and
next for an owner), offers (ETH, ERC-20), the currency allowlist, purchases (ETH
first/renewal, ERC-20 first/next), key delivery (owner, agent), acceptance and release
after the review window (first and next balances), dispute and its resolution,
withdrawals (ETH, ERC-20), refunds, pause/resume/retire, key agents, closing an offer,
the platform fee. Purchase budget: <= 120,000 (issue 8)."""

from __future__ import annotations

from typing import Any

from bench.accounts import funded_account
from medchain.genomics import GenomicDatasetClient, GenomicsClient
from medchain.genomics.client import Listing
from medchain.genomics.duo import mask

DAY = 86_400
HMB = mask("HMB")
ETH = "0x" + "00" * 20
MINT = 74_000
MINT_SOURCE = "OZ ERC-721 mint ~74,000 (issue 8 / domain.md)"
FAR = 4_000_000_000  # fixed signature deadlines keep calldata (and so gas) identical


def _purchase(market: Any, buyer: Any, offer_id: int, value: int) -> Any:
    signature, deadline, _ = GenomicsClient(market, buyer).sign_terms(
        buyer, offer_id, HMB, deadline=FAR
    )
    return market.purchase(offer_id, HMB, deadline, signature, value=value, sender=buyer)


def _list(token: Any, owner: Any, lab: Any, cid: str, ciphertext_hash: bytes) -> Any:
    listing = Listing.of(cid, ciphertext_hash, cid, lab.address, 500)
    signature, deadline = GenomicDatasetClient(token, owner).authorize_listing(
        lab, listing, owner, deadline=FAR
    )
    return token.list(listing.as_tuple(), lab, deadline, signature, sender=owner)


def _travel(g: Any, seconds: int) -> None:
    g.chain.pending_timestamp = g.chain.pending_timestamp + seconds
    g.chain.mine()


def measure(g: Any) -> None:
    from ape import project

    token, market = g.contracts["GenomicDataset"], g.contracts["GenomicLicensing"]
    deployer, lab = g.accounts["deployer"], g.accounts["lab"]
    if not token.hasRole(token.PRODUCER_ROLE(), lab):  # the deploy plan wires it
        token.grantRole(token.PRODUCER_ROLE(), lab, sender=deployer)
    owner, r1, r2, r3 = (funded_account(g, 10**20) for _ in range(4))
    erc20 = deployer.deploy(project.TestToken)
    cid = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"

    rec = _list(token, owner, lab, cid, b"\x11" * 32)
    g.record("GenomicDataset.list (first for owner, royalty)", rec, MINT, MINT_SOURCE)
    d1 = int(rec.events[0].datasetId)
    rec = _list(token, owner, lab, cid, b"\x12" * 32)
    g.record("GenomicDataset.list (next)", rec, MINT, MINT_SOURCE)
    d2 = int(rec.events[0].datasetId)

    rec = market.setCurrencyAllowed(erc20, True, sender=deployer)
    g.record("GenomicLicensing.setCurrencyAllowed", rec)
    args = (10 * DAY, 3 * DAY, 3 * DAY, mask("GRU,HMB,DS,POA"), 1_000, b"\x33" * 32)
    rec = market.createOffer(d1, ETH, 10**16, *args, sender=owner)
    g.record("GenomicLicensing.createOffer (ETH)", rec)
    eth_offer = int(rec.events[0].offerId)
    rec = market.createOffer(d2, erc20, 10**18, *args, sender=owner)
    g.record("GenomicLicensing.createOffer (ERC-20)", rec)
    erc20_offer = int(rec.events[0].offerId)

    rec = _purchase(market, r1, eth_offer, 10**16)
    g.record("GenomicLicensing.purchase (ETH, first)", rec, MINT, MINT_SOURCE)
    _purchase(market, r2, eth_offer, 10**16)
    erc20.mint(r1, 10**20, sender=deployer)
    erc20.approve(market, 2**255, sender=r1)
    rec = _purchase(market, r1, erc20_offer, 0)
    g.record("GenomicLicensing.purchase (ERC-20, first)", rec, MINT, MINT_SOURCE)
    erc20.mint(r2, 10**20, sender=deployer)
    erc20.approve(market, 2**255, sender=r2)
    rec = _purchase(market, r2, erc20_offer, 0)
    g.record("GenomicLicensing.purchase (ERC-20, next)", rec, MINT, MINT_SOURCE)

    l1, l2 = int(market.licenceIdOf(d1, r1)), int(market.licenceIdOf(d1, r2))
    l3, l4 = int(market.licenceIdOf(d2, r1)), int(market.licenceIdOf(d2, r2))
    rec = market.deliverKey(l1, cid, b"\x44" * 32, sender=owner)
    g.record("GenomicLicensing.deliverKey (owner)", rec)
    rec = market.setKeyAgent(deployer, True, sender=owner)
    g.record("GenomicLicensing.setKeyAgent", rec)
    rec = market.deliverKey(l2, cid, b"\x45" * 32, sender=deployer)
    g.record("GenomicLicensing.deliverKey (agent)", rec)
    market.deliverKey(l3, cid, b"\x46" * 32, sender=owner)
    market.deliverKey(l4, cid, b"\x47" * 32, sender=owner)

    rec = market.acceptKey(l1, sender=r1)
    g.record("GenomicLicensing.acceptKey (first balances)", rec)
    rec = market.disputeKey(l4, sender=r2)
    g.record("GenomicLicensing.disputeKey", rec)
    _travel(g, 3 * DAY + 60)
    rec = market.releaseEscrow(l2, sender=owner)
    g.record("GenomicLicensing.releaseEscrow (next balances)", rec)
    market.releaseEscrow(l3, sender=owner)
    rec = market.resolveDispute(l4, True, sender=deployer)
    g.record("GenomicLicensing.resolveDispute (refund)", rec)

    g.record("GenomicLicensing.withdraw (ETH)", market.withdraw(ETH, sender=owner))
    g.record("GenomicLicensing.withdraw (ERC-20)", market.withdraw(erc20, sender=owner))

    _purchase(market, r3, eth_offer, 10**16)
    erc20.mint(r3, 10**20, sender=deployer)
    erc20.approve(market, 2**255, sender=r3)
    _purchase(market, r3, erc20_offer, 0)
    _travel(g, 3 * DAY + 60)
    rec = market.refund(int(market.licenceIdOf(d1, r3)), sender=r3)
    g.record("GenomicLicensing.refund (ETH)", rec)
    rec = market.refund(int(market.licenceIdOf(d2, r3)), sender=r3)
    g.record("GenomicLicensing.refund (ERC-20)", rec)
    rec = token.transferFrom(owner, r3, d2, sender=owner)
    g.record("GenomicDataset.transferFrom (ERC-721)", rec)

    _travel(g, 10 * DAY)
    rec = _purchase(market, r1, eth_offer, 10**16)
    g.record("GenomicLicensing.purchase (ETH, renewal after expiry)", rec, MINT, MINT_SOURCE)

    g.record("GenomicDataset.pause", token.pause(d1, sender=owner))
    g.record("GenomicDataset.resume", token.resume(d1, sender=owner))
    g.record("GenomicLicensing.closeOffer", market.closeOffer(eth_offer, sender=owner))
    g.record("GenomicDataset.retire", token.retire(d1, sender=owner))
    g.record(
        "GenomicLicensing.setPlatformFee", market.setPlatformFee(deployer, 300, sender=deployer)
    )
