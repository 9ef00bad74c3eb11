"""GenomicDataset and GenomicLicensing on the real EVM: listing, states, offers, signed
purchases, key delivery, review/acceptance with exact splits, refunds, expiry, ERC-20
offers, reentrancy. Attacks from the security review live in test_genomics_attacks.py."""

from __future__ import annotations

import pytest

from medchain.genomics.duo import mask
from support.deploy import deploy_fresh
from support.genomics import DATA_CID, DAY, HMB, META_CID, PRICE, ZERO, refuses, travel


def _listing(digest, h, codec=0x70, receiver=ZERO, bps=0, data_digest=None):
    return (0x55, digest if data_digest is None else data_digest, h, codec, digest, receiver, bps)


def test_list_mints_to_owner_with_references_and_royalty(m, patient, lab):
    dataset_id = m.list(patient, lab, 500)
    info = m.datasets(patient).dataset(dataset_id)
    assert info.owner == patient.address
    # Stored as (codec, digest), read back as the same base32 CIDv1 text.
    assert (info.data_cid, info.metadata_cid) == (DATA_CID, META_CID)
    assert info.ciphertext_hash == m.last_hash
    assert info.producer == lab.address
    assert m.token.datasetOfCiphertext(m.last_hash) == dataset_id
    assert info.state.name == "ACTIVE"
    assert (info.royalty_receiver, info.royalty_bps) == (lab.address, 500)
    assert m.token.tokenURI(dataset_id) == f"ipfs://{META_CID}"
    assert m.token.supportsInterface("0x2a55205a")  # ERC-2981
    assert m.token.supportsInterface("0x80ac58cd")  # ERC-721


def test_list_refusals(m, patient, lab):
    digest, h, far = b"\x33" * 32, b"\x44" * 32, 2**40

    def attempt(listing):
        m.token.list(listing, lab, far, b"", sender=patient)

    with refuses("GenomicDatasetEmptyCid", field=b"dataCid".ljust(32, b"\0")):
        attempt(_listing(digest, h, data_digest=b"\0" * 32))
    with refuses(
        "GenomicDatasetUnsupportedCodec", field=b"metadataCid".ljust(32, b"\0"), codec=0x71
    ):
        attempt(_listing(digest, h, codec=0x71))
    with refuses("GenomicDatasetZeroCiphertextHash", lister=patient):
        attempt(_listing(digest, b"\0" * 32))
    with refuses("GenomicDatasetRoyaltyTooHigh", royaltyBps=2_501, maxRoyaltyBps=2_500):
        attempt(_listing(digest, h, receiver=lab.address, bps=2_501))
    with refuses("GenomicDatasetRoyaltyWithoutReceiver", royaltyBps=100):
        attempt(_listing(digest, h, bps=100))


def test_state_transitions_and_owner_only(m, patient, researcher):
    d = m.list(patient)
    with refuses("GenomicDatasetNotOwner", datasetId=d, account=researcher.address):
        m.token.pause(d, sender=researcher)
    m.token.pause(d, sender=patient)
    with refuses("GenomicDatasetBadTransition", datasetId=d, **{"from": 2, "to": 2}):
        m.token.pause(d, sender=patient)
    m.token.resume(d, sender=patient)
    m.token.retire(d, sender=patient)
    with refuses("GenomicDatasetBadTransition", datasetId=d, **{"from": 3, "to": 1}):
        m.token.resume(d, sender=patient)
    with refuses("GenomicDatasetNotFound", datasetId=999):
        m.token.pause(999, sender=patient)


def test_offer_refusals(m, patient, researcher):
    d = m.list(patient)
    c = m.client(patient)
    with refuses("GenomicLicensingNotDatasetOwner", datasetId=d, account=researcher.address):
        m.offer(researcher, d)

    def reason(text):
        return text.encode().ljust(32, b"\0")

    with refuses("GenomicLicensingInvalidOffer", reason=reason("duration")):
        c.create_offer(d, price=1, duration=0, purposes=HMB)
    with refuses("GenomicLicensingInvalidOffer", reason=reason("deliveryWindow")):
        c.create_offer(d, price=1, duration=DAY, purposes=HMB, delivery_window=31 * DAY)
    with refuses("GenomicLicensingInvalidOffer", reason=reason("reviewWindow")):
        c.create_offer(d, price=1, duration=DAY, purposes=HMB, review_window=3_600)
    with refuses(
        "GenomicLicensingInvalidOffer", reason=reason("reviewWindow")
    ):  # longer than the term
        c.create_offer(d, price=1, duration=DAY, purposes=HMB, review_window=2 * DAY)
    with refuses("GenomicLicensingInvalidOffer", reason=reason("purposes")):
        c.create_offer(d, price=1, duration=DAY, purposes=mask("NPU"), review_window=DAY)
    with refuses("GenomicLicensingInvalidOffer", reason=reason("maxLicences")):
        c.create_offer(d, price=1, duration=DAY, purposes=HMB, review_window=DAY, max_licences=0)
    m.token.pause(d, sender=patient)
    with refuses("GenomicLicensingDatasetNotActive", datasetId=d, state=2):
        m.offer(patient, d)


def test_purchase_records_licence_and_terms(m, patient, researcher, chain):
    d = m.list(patient)
    o = m.offer(patient, d)
    rc = m.client(researcher)
    _, _, digest = rc.sign_terms(researcher, o, HMB, deadline=2**40)
    receipt = m.market.purchase(
        o, HMB, 2**40, rc.sign_terms(researcher, o, HMB, deadline=2**40)[0], value=PRICE,
        sender=researcher,
    )  # fmt: skip
    lic = rc.licence(m.market.licenceIdOf(d, researcher))
    assert lic.status.name == "PENDING" and lic.amount == PRICE and lic.purposes == HMB
    assert lic.key_deadline == chain.blocks.head.timestamp + 3 * DAY and lic.expires_at == 0
    assert lic.fee_bps == 250
    purchased = next(e for e in receipt.events if e.event_name == "LicencePurchased")
    assert bytes(purchased.termsDigest) == digest
    m.deliver(patient, lic.licence_id)
    assert m.market.isLicensed(d, researcher, HMB)
    assert m.market.expiresAt(lic.licence_id) == chain.blocks.head.timestamp + 90 * DAY
    assert not m.market.isLicensed(d, researcher, mask("POA"))
    assert not m.market.isLicensed(d, patient, HMB)
    assert m.market.offer(o).sold == 1
    assert m.market.escrowOf(lic.licence_id) == PRICE
    assert chain.provider.get_balance(m.market.address) == PRICE


def test_purchase_refusals(m, patient, researcher, provider, chain):
    d = m.list(patient)
    o = m.offer(patient, d, purposes=HMB | mask("NPU,IRB"), max_licences=1)
    rc = m.client(researcher)
    sig, deadline, _ = rc.sign_terms(researcher, o, HMB | mask("NPU,IRB"))
    with refuses("GenomicLicensingWrongPayment", expected=PRICE, sent=1):
        m.market.purchase(o, HMB | mask("NPU,IRB"), deadline, sig, value=1, sender=researcher)
    # Dropping a required modifier or asking for an unoffered purpose is refused.
    for bad in (HMB | mask("NPU"), mask("POA,NPU,IRB"), mask("NPU,IRB")):
        with refuses("GenomicLicensingPurposeNotOffered", offerId=o, requested=bad):
            rc.buy(o, bad)
    # A signature by someone else (or for other purposes) is not the researcher's terms.
    other, _, _ = m.client(provider).sign_terms(provider, o, HMB | mask("NPU,IRB"), deadline)
    with refuses("GenomicLicensingInvalidTermsSignature", researcher=researcher.address):
        m.market.purchase(o, HMB | mask("NPU,IRB"), deadline, other, value=PRICE, sender=researcher)
    travel(chain, 2 * 3600)
    with refuses("GenomicLicensingTermsExpired", deadline=deadline):
        m.market.purchase(o, HMB | mask("NPU,IRB"), deadline, sig, value=PRICE, sender=researcher)
    rc.buy(o, HMB | mask("NPU,IRB"))
    with refuses("GenomicLicensingOfferSoldOut", offerId=o, maxLicences=1):
        m.client(provider).buy(o, HMB | mask("NPU,IRB"))
    with refuses("GenomicLicensingOfferNotFound", offerId=12345):
        m.market.purchase(12345, HMB, deadline, sig, sender=researcher)


def test_paused_and_retired_datasets_take_no_licences_but_running_ones_run(
    m, patient, researcher, provider, chain
):
    d = m.list(patient)
    o = m.offer(patient, d)
    m.deliver(patient, m.buy(researcher, o))
    m.token.pause(d, sender=patient)
    with refuses("GenomicLicensingDatasetNotActive", datasetId=d, state=2):
        m.buy(provider, o)
    m.token.retire(d, sender=patient)
    with refuses("GenomicLicensingDatasetNotActive", datasetId=d, state=3):
        m.buy(provider, o)
    assert m.market.isLicensed(d, researcher, HMB)
    travel(chain, 90 * DAY + 1)
    assert not m.market.isLicensed(d, researcher, HMB)


def test_closed_offer_and_open_licence_refused(m, patient, researcher, provider):
    d = m.list(patient)
    o = m.offer(patient, d)
    lic = m.buy(researcher, o)
    with refuses("GenomicLicensingLicenceOpen", licenceId=lic, status=1):
        m.buy(researcher, o)
    m.client(patient).close_offer(o)
    with refuses("GenomicLicensingOfferClosed", offerId=o):
        m.buy(provider, o)


def test_acceptance_splits_exactly_and_pays_by_pull(m, patient, researcher, lab, treasury, chain):
    d = m.list(patient, lab, 1_000)
    price = 10**18 + 7  # not divisible: the owner takes the rounding remainder
    o = m.offer(patient, d, price=price)
    lic = m.buy(researcher, o)
    m.deliver(patient, lic)
    assert m.market.balanceOf(patient, ZERO) == 0  # held until the researcher checked the key
    with refuses("GenomicLicensingNotLicensee", licenceId=lic, caller=patient.address):
        m.client(patient).accept_key(lic)
    receipt = m.client(researcher).accept_key(lic)
    royalty, fee = price * 1_000 // 10_000, price * 250 // 10_000
    owner_share = price - royalty - fee
    assert royalty + fee + owner_share == price
    assert m.market.balanceOf(lab, ZERO) == royalty
    assert m.market.balanceOf(treasury, ZERO) == fee
    assert m.market.balanceOf(patient, ZERO) == owner_share
    released = next(e for e in receipt.events if e.event_name == "EscrowReleased")
    assert (released.ownerShare, released.royalty, released.fee) == (owner_share, royalty, fee)
    assert m.market.envelopeDigest(lic) == b"\x22" * 32
    before = lab.balance
    paid = m.client(lab).withdraw()
    assert paid == royalty and m.market.balanceOf(lab, ZERO) == 0
    assert lab.balance > before + royalty - 10**16  # gas aside
    with refuses("GenomicLicensingNothingToWithdraw", account=lab.address, currency=ZERO):
        m.client(lab).withdraw()
    with refuses("GenomicLicensingNotAwaitingKey", licenceId=lic, status=3):
        m.client(patient).deliver_key(lic, "bafyenvelope", b"\x22" * 32)
    with refuses("GenomicLicensingNotUnderReview", licenceId=lic, status=3):
        m.client(researcher).accept_key(lic)
    assert chain.provider.get_balance(m.market.address) == owner_share + fee


def test_key_posting_refused_for_non_licensees_strangers_and_late(
    m, patient, researcher, provider, chain
):
    d = m.list(patient)
    o = m.offer(patient, d)
    stranger_licence = m.market.licenceIdOf(d, provider)
    with refuses("GenomicLicensingNotAwaitingKey", licenceId=stranger_licence, status=0):
        m.client(patient).deliver_key(stranger_licence, "bafyenv", b"\x22" * 32)
    lic = m.buy(researcher, o)
    with refuses("GenomicLicensingNotKeyAgent", datasetId=d, caller=provider.address):
        m.client(provider).deliver_key(lic, "bafyenv", b"\x22" * 32)
    with refuses("GenomicLicensingEmptyEnvelope", licenceId=lic):
        m.client(patient).deliver_key(lic, "bafyenv", b"\0" * 32)
    travel(chain, 3 * DAY + 1)
    with refuses("GenomicLicensingDeliveryClosed", licenceId=lic):
        m.client(patient).deliver_key(lic, "bafyenv", b"\x22" * 32)


def test_authorised_agent_delivers_and_revoked_cannot(m, patient, researcher, provider, lab):
    d = m.list(patient)
    o = m.offer(patient, d)
    lic1 = m.buy(researcher, o)
    lic2 = m.buy(lab, o)
    m.client(patient).set_key_agent(provider, True)
    assert m.market.isKeyAgent(patient, provider)
    m.client(provider).deliver_key(lic1, "bafyenv", b"\x22" * 32)
    m.client(researcher).accept_key(lic1)
    assert m.market.balanceOf(patient, ZERO) > 0 and m.market.balanceOf(provider, ZERO) == 0
    m.client(patient).set_key_agent(provider, False)
    with refuses("GenomicLicensingNotKeyAgent", datasetId=d, caller=provider.address):
        m.client(provider).deliver_key(lic2, "bafyenv", b"\x22" * 32)


def test_refund_after_deadline_only_to_licensee(m, patient, researcher, provider, chain):
    d = m.list(patient)
    o = m.offer(patient, d)
    lic = m.buy(researcher, o)
    with refuses("GenomicLicensingDeliveryStillOpen", licenceId=lic):
        m.client(researcher).refund(lic)
    travel(chain, 3 * DAY + 1)
    with refuses("GenomicLicensingNotLicensee", licenceId=lic, caller=provider.address):
        m.client(provider).refund(lic)
    before = researcher.balance
    receipt = m.client(researcher).refund(lic)
    assert researcher.balance == before + PRICE - receipt.total_fees_paid
    assert not m.market.isLicensed(d, researcher, HMB)
    assert m.market.offer(o).sold == 0
    with refuses("GenomicLicensingNotAwaitingKey", licenceId=lic, status=5):
        m.client(researcher).refund(lic)
    with refuses("GenomicLicensingNotAwaitingKey", licenceId=lic, status=5):
        m.client(patient).deliver_key(lic, "bafyenv", b"\x22" * 32)
    assert chain.provider.get_balance(m.market.address) == 0


def test_expiry_then_repurchase_with_new_nonce_clears_envelope(m, patient, researcher, chain):
    d = m.list(patient)
    o = m.offer(patient, d, duration=10 * DAY, delivery_window=DAY)
    rc = m.client(researcher)
    sig, deadline, _ = rc.sign_terms(
        researcher, o, HMB, deadline=chain.pending_timestamp + 400 * DAY
    )
    lic = (
        m.market.purchase(o, HMB, deadline, sig, value=PRICE, sender=researcher).events[0].licenceId
    )
    m.client(patient).deliver_key(lic, "bafyenv", b"\x22" * 32)
    travel(chain, 3 * DAY + 1)
    with refuses("GenomicLicensingLicenceOpen", licenceId=lic, status=2):  # escrow still held
        m.client(researcher).buy(o, HMB)
    m.client(patient).release_escrow(lic)  # anyone, once the review window passed
    travel(chain, 7 * DAY)
    assert not m.market.isLicensed(d, researcher, HMB)
    assert m.market.expiresAt(lic) < chain.blocks.head.timestamp
    # The old signature carries the old nonce: it cannot buy a second licence.
    with refuses("GenomicLicensingInvalidTermsSignature", researcher=researcher.address):
        m.market.purchase(o, HMB, deadline, sig, value=PRICE, sender=researcher)
    again = rc.buy(o, HMB)
    assert again.licence_id == lic and again.nonce == 2 and again.status.name == "PENDING"
    assert m.market.envelopeDigest(lic) == b"\0" * 32
    assert not m.market.isLicensed(d, researcher, HMB)  # not until the new key is posted
    m.deliver(patient, lic)
    assert m.market.isLicensed(d, researcher, HMB)


def test_erc20_offer_end_to_end(m, patient, researcher, lab, erc20, treasury):
    d = m.list(patient, lab, 500)
    o = m.offer(patient, d, currency=erc20.address, price=1_000_003)
    erc20.approve(m.market, 1_000_003, sender=researcher)
    sig, deadline, _ = m.client(researcher).sign_terms(researcher, o, HMB)
    with refuses("GenomicLicensingWrongPayment", expected=0, sent=1):
        m.market.purchase(o, HMB, deadline, sig, value=1, sender=researcher)
    lic = m.buy(researcher, o)
    assert erc20.balanceOf(m.market) == 1_000_003
    m.client(patient).deliver_key(lic, "bafyenv", b"\x22" * 32)
    m.client(researcher).accept_key(lic)
    shares = [m.market.balanceOf(a, erc20) for a in (patient, lab, treasury)]
    assert sum(shares) == 1_000_003 and shares[1] == 50_000 and shares[2] == 25_000
    assert m.client(patient).withdraw(erc20.address) == shares[0]
    assert erc20.balanceOf(patient) == shares[0]


def test_platform_fee_admin_only_and_capped(m, deployer, patient, treasury):
    with refuses("AccessControlUnauthorizedAccount", account=patient.address):
        m.market.setPlatformFee(treasury, 100, sender=patient)
    with refuses("GenomicLicensingInvalidFee", feeBps=1_001, maxFeeBps=1_000):
        m.market.setPlatformFee(treasury, 1_001, sender=deployer)
    with refuses("GenomicLicensingInvalidFee", treasury=ZERO):
        m.market.setPlatformFee(ZERO, 100, sender=deployer)
    m.market.setPlatformFee(treasury, 0, sender=deployer)
    assert m.market.platformFee() == (treasury.address, 0)


def test_fee_cap_plus_royalty_cap_cannot_exceed_whole(deployer):
    # Not the shipped caps on purpose: a 75.01% fee cap beside the 25% royalty cap.
    over_the_whole = {
        "GenomicLicensing": lambda ctx: (
            ctx.address_of("GenomicDataset"),
            deployer.address,
            deployer.address,
            0,
            7_501,
        )
    }
    with refuses("GenomicLicensingInvalidFee", maxFeeBps=7_500):
        deploy_fresh(deployer, "GenomicLicensing", overrides=over_the_whole)


@pytest.mark.parametrize("via", ["withdraw", "refund"])
def test_reentrant_attacker_cannot_drain(m, project, deployer, patient, researcher, chain, via):
    attacker = deployer.deploy(project.ReentrantWithdrawer, m.market)
    m.token.grantRole(m.token.PRODUCER_ROLE(), attacker, sender=deployer)  # lists as its own lab
    # Honest money in the contract that the attacker would like to take.
    d0 = m.list(patient)
    honest = m.offer(patient, d0)
    m.buy(researcher, honest)
    if via == "withdraw":
        attacker.listDataset(m.token, sender=deployer)
        d = m.token.totalListed()
        attacker.createOffer(d, PRICE, sender=deployer)
        o = m.market.totalOffers()
        lic = m.buy(patient, o, mask("GRU"))
        attacker.deliver(lic, sender=deployer)
        m.client(patient).accept_key(lic)
        owed = m.market.balanceOf(attacker, ZERO)
        attacker.attackWithdraw(sender=deployer)
    else:
        attacker.buy(honest, value=PRICE, sender=deployer)
        travel(chain, 3 * DAY + 1)
        owed = PRICE
        attacker.attackRefund(sender=deployer)
    assert attacker.reentryAttempts() == 1
    assert not attacker.reentrySucceeded()
    assert chain.provider.get_balance(attacker.address) == owed
    # The honest researcher's escrow is untouched.
    assert chain.provider.get_balance(m.market.address) >= PRICE


def test_is_licensed_cost_does_not_grow_with_licences(m, patient, researcher, roles):
    d = m.list(patient)
    o = m.offer(patient, d)
    m.deliver(patient, m.buy(researcher, o))
    before = m.market.isLicensed.estimate_gas_cost(d, researcher, HMB, sender=researcher)
    for role in ("provider", "lab", "manufacturer", "wholesaler"):
        m.deliver(patient, m.buy(roles[role], o))
    after = m.market.isLicensed.estimate_gas_cost(d, researcher, HMB, sender=researcher)
    assert before == after
    assert (
        m.market.isLicensed.estimate_gas_cost(d, roles["wholesaler"], HMB, sender=researcher)
        == after
    )
