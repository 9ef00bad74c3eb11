"""The security review's findings, each performed as an attack with real transactions:
the refusal (custom error with its arguments) or the safe outcome is asserted.

7  escrow paid for a licence that had already ended (window == duration, window unsigned);
8  copycat listings of someone else's ciphertext paid through a garbage key;
low fee changes applied retroactively; pending licences counted as licensed; fee-on-transfer
   tokens making escrow insolvent; dataset ids aliasing through dropped high bits.
"""

from __future__ import annotations

from eth_account.messages import encode_typed_data

from medchain.genomics.client import Listing, OfferInfo
from medchain.signing import sign_message
from support.genomics import DATA_CID, DAY, HMB, META_CID, PRICE, ZERO, fresh_hash, refuses, travel

# -- finding 7: escrow for a licence that already ended ---------------------------------


def test_key_posted_at_the_last_moment_still_buys_the_full_term(m, patient, researcher, chain):
    """Before: deliveryWindow == duration let the owner post the key as the licence expired
    and collect the escrow for a licence the researcher never could use."""
    d = m.list(patient)
    o = m.offer(patient, d, duration=2 * DAY, delivery_window=2 * DAY, review_window=DAY)
    lic = m.buy(researcher, o)
    assert not m.market.isLicensed(d, researcher, HMB)  # paid, no key: not licensed
    travel(chain, 2 * DAY - 30)  # the owner waits until the end of the delivery window
    receipt = m.deliver(patient, lic)
    delivered_at = chain.blocks.head.timestamp
    event = next(e for e in receipt.events if e.event_name == "KeyDelivered")
    # The term starts at delivery: the researcher gets the whole 2 days it paid for.
    assert event.expiresAt == delivered_at + 2 * DAY == m.market.expiresAt(lic)
    assert event.reviewDeadline == delivered_at + DAY
    assert m.market.isLicensed(d, researcher, HMB)
    # And the owner is not paid in that block: the researcher first gets to check the key.
    with refuses(
        "GenomicLicensingReviewStillOpen", licenceId=lic, reviewDeadline=delivered_at + DAY
    ):
        m.client(patient).release_escrow(lic)
    with refuses("GenomicLicensingNothingToWithdraw", account=patient.address, currency=ZERO):
        m.client(patient).withdraw()
    travel(chain, DAY + 1)
    assert m.market.isLicensed(d, researcher, HMB)
    m.client(patient).release_escrow(lic)
    assert m.market.balanceOf(patient, ZERO) == PRICE - PRICE * 250 // 10_000


def test_delivery_and_review_windows_are_signed_terms(m, patient, researcher, chain):
    """A signature over the same offer with a different delivery (or review) window does
    not buy: every term the researcher pays for is in the EIP-712 digest."""
    d = m.list(patient)
    o = m.offer(patient, d, delivery_window=DAY, review_window=2 * DAY)
    rc = m.client(researcher)
    real = rc.offer(o)
    deadline = chain.pending_timestamp + 3_600
    nonce = rc.licence_for(d, researcher).nonce
    for changed in (
        {"delivery_window": 30 * DAY},  # what the owner would like the researcher to accept
        {"review_window": DAY},
    ):
        fields = {**real.__dict__, **changed}
        forged = rc.typed_data(OfferInfo(**fields), researcher, HMB, deadline, nonce)
        signature = sign_message(researcher, encode_typed_data(full_message=forged))
        with refuses("GenomicLicensingInvalidTermsSignature", researcher=researcher.address):
            m.market.purchase(o, HMB, deadline, signature, value=PRICE, sender=researcher)
    m.client(researcher).buy(o, HMB, deadline=deadline)  # the true terms buy


# -- finding 8: copycat listings and garbage keys ----------------------------------------


def test_copycat_cannot_relist_someone_elses_ciphertext(m, patient, provider, lab, deployer):
    h = fresh_hash()
    datasets = m.datasets(patient)
    listing = Listing.of(DATA_CID, h, META_CID, lab.address, 500)
    signature, deadline = datasets.authorize_listing(lab, listing, patient)
    # The scammer front-runs with the lab's authorisation it saw in the mempool: it names
    # the patient as lister, so it is not the lab's signature for the scammer.
    digest = m.token.listingDigest(listing.as_tuple(), provider, deadline)
    with refuses("GenomicDatasetInvalidLabSignature", lab=lab.address, digest=digest):
        m.token.list(listing.as_tuple(), lab, deadline, signature, sender=provider)
    # Signing as its own "lab" does not help: only accredited producers authorise.
    own, own_deadline = m.datasets(provider).authorize_listing(provider, listing, provider)
    with refuses("GenomicDatasetNotProducer", lab=provider.address):
        m.token.list(listing.as_tuple(), provider, own_deadline, own, sender=provider)
    d = datasets.list(DATA_CID, h, META_CID, lab.address, 500, lab=lab)
    # Once listed, the same ciphertext cannot be listed again, cheaper, by anyone, even
    # with a genuine lab authorisation (the lab is tricked or colludes).
    cheaper = Listing.of(DATA_CID, h, META_CID)
    with refuses("GenomicDatasetAlreadyListed", ciphertextHash=h, datasetId=d):
        m.datasets(provider).list(DATA_CID, h, META_CID, lab=lab)
    assert m.token.datasetOfCiphertext(h) == d
    # An expired authorisation is refused too.
    other = Listing.of(DATA_CID, fresh_hash(), META_CID)
    sig, old = datasets.authorize_listing(lab, other, patient, deadline=1)
    with refuses("GenomicDatasetAuthorizationExpired", deadline=1):
        m.token.list(other.as_tuple(), lab, old, sig, sender=patient)
    assert cheaper.ciphertext_hash == h


def test_garbage_key_is_disputed_and_refunded_not_paid(
    m, patient, researcher, deployer, provider, chain
):
    """A lister posts a garbage envelope (any digest used to release escrow) and tries to
    withdraw: the researcher disputes in the review window; nothing is released; the
    arbiter refunds; the researcher is no longer licensed."""
    d = m.list(patient)
    o = m.offer(patient, d)
    lic = m.buy(researcher, o)
    m.deliver(patient, lic, b"\x66" * 32)  # garbage
    with refuses("GenomicLicensingNotLicensee", licenceId=lic, caller=patient.address):
        m.client(patient).dispute_key(lic)
    m.client(researcher).dispute_key(lic)
    assert not m.market.isLicensed(d, researcher, HMB)
    travel(chain, 3 * DAY + 1)
    with refuses("GenomicLicensingNotUnderReview", licenceId=lic, status=4):
        m.client(patient).release_escrow(lic)
    with refuses("GenomicLicensingNothingToWithdraw", account=patient.address, currency=ZERO):
        m.client(patient).withdraw()
    with refuses("AccessControlUnauthorizedAccount", account=patient.address):
        m.client(patient).resolve_dispute(lic, False)
    m.client(deployer).resolve_dispute(lic, True)
    with refuses("GenomicLicensingNotDisputed", licenceId=lic, status=5):
        m.client(deployer).resolve_dispute(lic, False)
    assert m.client(researcher).withdraw() == PRICE
    assert chain.provider.get_balance(m.market.address) == 0
    assert m.market.offer(o).sold == 0
    assert not m.market.isLicensed(d, researcher, HMB)


def test_dispute_window_closes_and_good_keys_are_paid(m, patient, researcher, provider, deployer):
    d = m.list(patient)
    o = m.offer(patient, d, review_window=DAY)
    lic = m.buy(researcher, o)
    with refuses("GenomicLicensingNotUnderReview", licenceId=lic, status=1):
        m.client(researcher).dispute_key(lic)
    m.deliver(patient, lic)
    review_end = m.market.licence(lic).deadline
    from ape import chain

    travel(chain, DAY + 1)
    with refuses("GenomicLicensingReviewClosed", licenceId=lic, reviewDeadline=review_end):
        m.client(researcher).dispute_key(lic)
    m.client(provider).release_escrow(lic)  # anyone (a keeper) may release
    assert m.market.balanceOf(patient, ZERO) > 0
    # A dispute the arbiter finds unfounded releases to the owner and the licence runs.
    lic2 = m.buy(provider, o)
    m.deliver(patient, lic2)
    m.client(provider).dispute_key(lic2)
    before = m.market.balanceOf(patient, ZERO)
    m.client(deployer).resolve_dispute(lic2, False)
    assert m.market.balanceOf(patient, ZERO) > before
    assert m.market.isLicensed(d, provider, HMB)


# -- low findings -------------------------------------------------------------------------


def test_fee_is_fixed_at_purchase(m, patient, researcher, deployer, treasury):
    d = m.list(patient)
    o = m.offer(patient, d)
    lic = m.buy(researcher, o)  # fee 2.5% now
    m.market.setPlatformFee(treasury, 1_000, sender=deployer)  # the admin raises it to 10%
    m.deliver(patient, lic)
    m.client(researcher).accept_key(lic)
    assert m.market.balanceOf(treasury, ZERO) == PRICE * 250 // 10_000
    assert m.market.balanceOf(patient, ZERO) == PRICE - PRICE * 250 // 10_000


def test_pending_licence_is_not_licensed_and_not_refundable_early(m, patient, researcher, chain):
    d = m.list(patient)
    o = m.offer(patient, d, duration=4 * DAY, delivery_window=3 * DAY, review_window=DAY)
    lic = m.buy(researcher, o)
    assert not m.market.isLicensed(d, researcher, HMB)
    travel(chain, 3 * DAY - 60)
    assert not m.market.isLicensed(d, researcher, HMB)
    with refuses("GenomicLicensingDeliveryStillOpen", licenceId=lic):
        m.client(researcher).refund(lic)
    travel(chain, 120)
    m.client(researcher).refund(lic)
    assert not m.market.isLicensed(d, researcher, HMB)


def test_fee_on_transfer_tokens_are_refused(m, project, patient, researcher, deployer, erc20):
    fot = deployer.deploy(project.FeeOnTransferToken)
    d = m.list(patient)
    with refuses("GenomicLicensingCurrencyNotAllowed", currency=fot.address):
        m.offer(patient, d, currency=fot.address, price=1_000)
    with refuses("AccessControlUnauthorizedAccount", account=patient.address):
        m.market.setCurrencyAllowed(fot, True, sender=patient)
    with refuses(
        "GenomicLicensingCurrencyNotAllowed", currency=researcher.address
    ):  # not a contract
        m.market.setCurrencyAllowed(researcher, True, sender=deployer)
    # A token the admin allowlisted and later removed (say it turned on transfer fees):
    # no new purchases; escrow already held still settles.
    o = m.offer(patient, d, currency=erc20.address, price=1_000)
    erc20.approve(m.market, 2_000, sender=researcher)
    lic = m.buy(researcher, o)
    m.market.setCurrencyAllowed(erc20, False, sender=deployer)
    assert not m.client(researcher).is_currency_allowed(erc20.address)
    with refuses("GenomicLicensingCurrencyNotAllowed", currency=erc20.address):
        m.buy(deployer, o)
    m.deliver(patient, lic)
    m.client(researcher).accept_key(lic)
    assert m.client(patient).withdraw(erc20.address) == 1_000 - 25
    m.market.setCurrencyAllowed(erc20, True, sender=deployer)


def test_dataset_ids_do_not_alias(m, patient, researcher):
    d = m.list(patient)
    m.deliver(patient, m.buy(researcher, m.offer(patient, d)))
    assert m.market.isLicensed(d, researcher, HMB)
    for alias in (d + 2**96, d + 2**64, d | (1 << 255)):
        assert not m.market.isLicensed(alias, researcher, HMB)
    with refuses("GenomicLicensingDatasetIdTooLarge", datasetId=d + 2**64):
        m.market.licenceIdOf(d + 2**64, researcher)
