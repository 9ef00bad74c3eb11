"""Typed clients of the genomics contracts: `GenomicDatasetClient` (the dataset token:
lab-authorised listings) and `GenomicsClient` (offers, EIP-712 signed purchases, key
delivery, acceptance, disputes, refunds, withdrawals). Every chain call goes through
`ContractClient.transact/call`; events are read with `medchain.logs.LogReader`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from medchain.client import ContractClient
from medchain.codec import ZERO32, ZERO_ADDRESS, to_address, to_bytes32
from medchain.eip712 import Eip712Domain, signable, typed_data, typed_data_digest
from medchain.errors import InvalidInput, MedchainError
from medchain.hashing import keccak_text
from medchain.logs import reader_for_contracts
from medchain.signing import sign_message
from medchain.timeutil import DAY

ETH = ZERO_ADDRESS  # the currency of offers paid in ether


def _struct(declaration: str) -> list[dict[str, str]]:
    """EIP-712 struct members from their Solidity-like declaration ("uint256 offerId, ...")."""
    members = (m.split() for m in declaration.split(","))
    return [{"name": name, "type": kind} for kind, name in members]


# What a researcher signs: the purchase, and nested, every term of the offer it pays for.
TERMS_TYPES = _struct(
    "uint256 offerId, address researcher, uint32 purposes, uint256 nonce, uint256 deadline,"
    " OfferTerms offer"
)
OFFER_TERMS_TYPES = _struct(
    "uint256 datasetId, address currency, uint96 price, uint32 duration,"
    " uint32 deliveryWindow, uint32 reviewWindow, bytes32 termsHash"
)
# What the producing lab signs to authorise one listing by one lister.
LISTING_TYPES = _struct(
    "address lister, bytes32 ciphertextHash, uint8 dataCodec, bytes32 dataDigest,"
    " uint8 metadataCodec, bytes32 metadataDigest, address royaltyReceiver, uint96 royaltyBps,"
    " uint256 deadline"
)
PRODUCER_ROLE = keccak_text("PRODUCER_ROLE")
ARBITER_ROLE = keccak_text("ARBITER_ROLE")


class DatasetState(IntEnum):
    NONE = 0
    ACTIVE = 1
    PAUSED = 2
    RETIRED = 3


class LicenceStatus(IntEnum):
    NONE = 0
    PENDING = 1  # paid, key not posted yet: not licensed
    DELIVERED = 2  # key posted, licence running, escrow held during the review window
    RELEASED = 3  # escrow paid out
    DISPUTED = 4  # licensee contested the key: escrow frozen until the arbiter decides
    REFUNDED = 5


class NotLicensed(MedchainError, PermissionError):
    """The account holds no running licence for that dataset and purpose (none, expired
    or refunded): the SDK will not fetch or decrypt the dataset."""


@dataclass(frozen=True)
class DatasetInfo:
    dataset_id: int
    owner: str
    data_cid: str
    ciphertext_hash: bytes
    metadata_cid: str
    state: DatasetState
    listed_at: int
    royalty_receiver: str
    royalty_bps: int
    producer: str = ETH


@dataclass(frozen=True)
class Listing:
    """A listing as the token takes it and the producing lab signs it."""

    data_codec: int
    data_digest: bytes
    ciphertext_hash: bytes
    metadata_codec: int
    metadata_digest: bytes
    royalty_receiver: str = ETH
    royalty_bps: int = 0

    @classmethod
    def of(
        cls,
        data_cid: Any,
        ciphertext_hash: bytes,
        metadata_cid: Any,
        royalty_receiver: str = ETH,
        royalty_bps: int = 0,
    ) -> Listing:
        """From CIDs given as text or binary, v0 or v1 (stored as CIDv1 codec + digest)."""
        data_codec, data_digest = cid_parts(data_cid)
        meta_codec, meta_digest = cid_parts(metadata_cid)
        return cls(
            data_codec, data_digest, to_bytes32(ciphertext_hash, "ciphertext hash"), meta_codec,
            meta_digest, to_address(royalty_receiver, "royalty receiver"), int(royalty_bps),
        )  # fmt: skip

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.data_codec, self.data_digest, self.ciphertext_hash, self.metadata_codec,
            self.metadata_digest, self.royalty_receiver, self.royalty_bps,
        )  # fmt: skip


@dataclass(frozen=True)
class OfferInfo:
    offer_id: int
    dataset_id: int
    currency: str
    price: int
    duration: int
    delivery_window: int
    purposes: int
    max_licences: int
    sold: int
    active: bool
    terms_hash: bytes
    review_window: int = DAY


@dataclass(frozen=True)
class LicenceInfo:
    licence_id: int
    dataset_id: int
    researcher: str
    expires_at: int  # 0 until the key is delivered: the term starts at delivery
    deadline: int  # PENDING: key delivery deadline; DELIVERED: end of the review window
    purposes: int
    offer_id: int
    amount: int  # the offer's price
    status: LicenceStatus
    nonce: int
    fee_bps: int = 0  # platform fee fixed at purchase

    @property
    def key_deadline(self) -> int:
        """The key delivery deadline (0 once the key is posted)."""
        return self.deadline if self.status == LicenceStatus.PENDING else 0

    @property
    def review_deadline(self) -> int:
        """When the review window closes (0 unless the key is posted and under review)."""
        return self.deadline if self.status == LicenceStatus.DELIVERED else 0


def licence_id_of(dataset_id: int, researcher: str) -> int:
    """Licence ids are datasetId << 160 | researcher, as the contract computes them."""
    return (int(dataset_id) << 160) | int(str(researcher), 16)


def split_licence_id(licence_id: int) -> tuple[int, str]:
    return licence_id >> 160, to_address(f"0x{licence_id & ((1 << 160) - 1):040x}")


def cid_parts(cid: Any) -> tuple[int, bytes]:
    """(codec, digest) of a CID as GenomicDataset stores it (CIDv1, sha2-256)."""
    from medchain.storage.cid import CID

    parsed = CID.parse(cid if isinstance(cid, bytes | str) else str(cid))
    return parsed.codec, parsed.digest


class GenomicDatasetClient(ContractClient):
    """The ERC-721 dataset token: lab-authorised listing (mint), read, pause, resume, retire."""

    contract_name = "GenomicDataset"

    def listing_typed_data(self, listing: Listing, lister: Any, deadline: int) -> dict[str, Any]:
        message = {
            "lister": to_address(lister, "lister"),
            "ciphertextHash": listing.ciphertext_hash,
            "dataCodec": listing.data_codec,
            "dataDigest": listing.data_digest,
            "metadataCodec": listing.metadata_codec,
            "metadataDigest": listing.metadata_digest,
            "royaltyReceiver": listing.royalty_receiver,
            "royaltyBps": listing.royalty_bps,
            "deadline": deadline,
        }
        domain = _domain("medchain GenomicDataset", self.address)
        return typed_data(domain, "DatasetListing", {"DatasetListing": LISTING_TYPES}, message)

    def authorize_listing(
        self, lab: Any, listing: Listing, lister: Any, deadline: int | None = None
    ) -> tuple[bytes, int]:
        """The producing lab's EIP-712 authorisation of `listing` by `lister`:
        (signature, deadline). The digest is checked against the contract's."""
        deadline = deadline if deadline is not None else chain_now() + 7 * DAY
        document = self.listing_typed_data(listing, lister, deadline)
        lister = to_address(lister, "lister")
        onchain = bytes(self.call("listingDigest", listing.as_tuple(), lister, deadline))
        if typed_data_digest(document) != onchain:
            raise InvalidInput("local EIP-712 listing digest differs from the contract's")
        return sign_message(lab, signable(document)), deadline

    def list(
        self,
        data_cid: Any,
        ciphertext_hash: bytes,
        metadata_cid: Any,
        royalty_receiver: str = ETH,
        royalty_bps: int = 0,
        *,
        lab: Any,
        lab_signature: bytes | None = None,
        deadline: int | None = None,
    ) -> int:
        """Mint a dataset token to the sender; returns the dataset id. `lab` is the producing
        lab (an account that can sign here, or its address with `lab_signature` and
        `deadline` obtained from `authorize_listing` run by the lab)."""
        listing = Listing.of(data_cid, ciphertext_hash, metadata_cid, royalty_receiver, royalty_bps)
        if self.sender is None:
            raise InvalidInput("listing needs a sender account")
        if lab_signature is None:
            lab_signature, deadline = self.authorize_listing(lab, listing, self.sender, deadline)
        elif deadline is None:
            raise InvalidInput("a lab signature needs the deadline it was signed with")
        receipt = self.transact(
            "list", listing.as_tuple(), to_address(lab, "lab"), deadline, lab_signature
        )
        return int(self.event_from(receipt, "DatasetListed")["datasetId"])

    def grant_producer(self, lab: Any) -> Any:
        """Accredit `lab` as a producer whose signature authorises listings (admin only)."""
        return self.transact("grantRole", PRODUCER_ROLE, to_address(lab, "lab"))

    def is_producer(self, lab: Any) -> bool:
        return bool(self.call("hasRole", PRODUCER_ROLE, to_address(lab, "lab")))

    def dataset_of_ciphertext(self, ciphertext_hash: bytes) -> int:
        return int(self.call("datasetOfCiphertext", to_bytes32(ciphertext_hash, "ciphertext hash")))

    def dataset(self, dataset_id: int) -> DatasetInfo:
        data_cid, cipher_hash, meta_cid, state, listed_at, producer = self.call(
            "dataset", dataset_id
        )
        receiver, royalty = self.call("royaltyInfo", dataset_id, 10_000)
        return DatasetInfo(
            dataset_id=int(dataset_id),
            owner=str(self.call("ownerOf", dataset_id)),
            data_cid=str(data_cid),
            ciphertext_hash=bytes(cipher_hash),
            metadata_cid=str(meta_cid),
            state=DatasetState(int(state)),
            listed_at=int(listed_at),
            royalty_receiver=str(receiver),
            royalty_bps=int(royalty),
            producer=str(producer),
        )

    def total(self) -> int:
        return int(self.call("totalListed"))

    def state(self, dataset_id: int) -> DatasetState:
        return DatasetState(int(self.call("datasetState", dataset_id)))

    def pause(self, dataset_id: int) -> Any:
        return self.transact("pause", dataset_id)

    def resume(self, dataset_id: int) -> Any:
        return self.transact("resume", dataset_id)

    def retire(self, dataset_id: int) -> Any:
        return self.transact("retire", dataset_id)


class GenomicsClient(ContractClient):
    """GenomicLicensing: offers, signed purchases, key delivery, refunds, withdrawals."""

    contract_name = "GenomicLicensing"

    # -- reads ---------------------------------------------------------------------

    def dataset_client(self) -> GenomicDatasetClient:
        return GenomicDatasetClient.at(str(self.call("datasets")), self.sender, self.book)

    def offer(self, offer_id: int) -> OfferInfo:
        o = self.call("offer", offer_id)
        if int(o.datasetId) == 0:
            raise InvalidInput(f"offer {offer_id} does not exist")
        return OfferInfo(
            int(offer_id), int(o.datasetId), str(o.currency), int(o.price), int(o.duration),
            int(o.deliveryWindow), int(o.purposes), int(o.maxLicences), int(o.sold),
            bool(o.active), bytes(o.termsHash), int(o.reviewWindow),
        )  # fmt: skip

    def offers(self, dataset_id: int | None = None, *, only_open: bool = False) -> list[OfferInfo]:
        """Every offer (optionally of one dataset / only open ones), read one by one."""
        found = []
        for offer_id in range(1, int(self.call("totalOffers")) + 1):
            o = self.offer(offer_id)
            if dataset_id is not None and o.dataset_id != dataset_id:
                continue
            if only_open and not o.active:
                continue
            found.append(o)
        return found

    def licence(self, licence_id: int) -> LicenceInfo:
        raw = self.call("licence", licence_id)
        dataset_id, researcher = split_licence_id(licence_id)
        amount = int(self.call("offer", int(raw.offerId)).price) if int(raw.offerId) else 0
        return LicenceInfo(
            licence_id, dataset_id, researcher, int(raw.expiresAt), int(raw.deadline),
            int(raw.purposes), int(raw.offerId), amount, LicenceStatus(int(raw.status)),
            int(raw.nonce), int(raw.feeBps),
        )  # fmt: skip

    def licence_for(self, dataset_id: int, researcher: Any) -> LicenceInfo:
        return self.licence(licence_id_of(dataset_id, to_address(researcher, "researcher")))

    def is_licensed(self, dataset_id: int, researcher: Any, purpose: int) -> bool:
        return bool(
            self.call("isLicensed", dataset_id, to_address(researcher, "researcher"), purpose)
        )

    def envelope_digest(self, licence_id: int) -> bytes:
        return bytes(self.call("envelopeDigest", licence_id))

    def escrow_of(self, licence_id: int) -> int:
        return int(self.call("escrowOf", licence_id))

    def is_currency_allowed(self, currency: str) -> bool:
        return bool(self.call("isCurrencyAllowed", currency))

    def balance(self, account: Any, currency: str = ETH) -> int:
        return int(self.call("balanceOf", to_address(account, "account"), currency))

    def licences_of(self, researcher: Any, from_block: int = 0) -> list[LicenceInfo]:
        """Current state of every licence `researcher` ever bought (from purchase events)."""
        who = to_address(researcher, "researcher")
        logs = reader_for_contracts(self).read(
            from_block, names="LicencePurchased", where={"researcher": who}
        )
        ids = dict.fromkeys(int(log.args["licenceId"]) for log in logs)  # once each, in order
        return [self.licence(i) for i in ids]

    def delivered_envelope(self, licence_id: int, from_block: int = 0) -> tuple[str, bytes] | None:
        """(envelope CID, digest) of the latest key posted for the licence's current
        purchase, or None while none is posted."""
        digest = self.envelope_digest(licence_id)
        if digest == ZERO32:
            return None
        logs = reader_for_contracts(self).read(
            from_block, names="KeyDelivered", where={"licenceId": licence_id}
        )
        for log in reversed(logs):
            if bytes(log.args["envelopeDigest"]) == digest:
                return str(log.args["envelopeCid"]), digest
        return None

    # -- EIP-712 terms -------------------------------------------------------------

    def typed_data(
        self, offer: OfferInfo, researcher: Any, purposes: int, deadline: int, nonce: int
    ) -> dict[str, Any]:
        message = {
            "offerId": offer.offer_id,
            "researcher": to_address(researcher, "researcher"),
            "purposes": purposes,
            "nonce": nonce,
            "deadline": deadline,
            "offer": {
                "datasetId": offer.dataset_id,
                "currency": offer.currency,
                "price": offer.price,
                "duration": offer.duration,
                "deliveryWindow": offer.delivery_window,
                "reviewWindow": offer.review_window,
                "termsHash": offer.terms_hash,
            },
        }
        types = {"DataUseTerms": TERMS_TYPES, "OfferTerms": OFFER_TERMS_TYPES}
        domain = _domain("medchain GenomicLicensing", self.address)
        return typed_data(domain, "DataUseTerms", types, message)

    def sign_terms(
        self, signer: Any, offer_id: int, purposes: int, deadline: int | None = None
    ) -> tuple[bytes, int, bytes]:
        """The researcher's EIP-712 signature over the offer's data-use terms:
        (signature, deadline, digest). The digest is checked against the contract's."""
        offer = self.offer(offer_id)
        researcher = to_address(signer, "signer")
        # Chain time, not wall time: test chains travel in time.
        deadline = deadline if deadline is not None else chain_now() + 3600
        nonce = self.licence_for(offer.dataset_id, researcher).nonce
        document = self.typed_data(offer, researcher, purposes, deadline, nonce)
        onchain = bytes(self.call("termsDigestFor", offer_id, researcher, purposes, deadline))
        if typed_data_digest(document) != onchain:
            raise InvalidInput("local EIP-712 digest differs from the contract's (wrong domain?)")
        return sign_message(signer, signable(document)), deadline, onchain

    # -- writes --------------------------------------------------------------------

    def create_offer(
        self,
        dataset_id: int,
        *,
        price: int,
        duration: int,
        purposes: int,
        delivery_window: int = 3 * DAY,
        review_window: int = 3 * DAY,
        max_licences: int = 2**32 - 1,
        currency: str = ETH,
        terms_hash: bytes = ZERO32,
    ) -> int:
        """Publish an offer. The licence runs `duration` from key delivery; the owner has
        `delivery_window` to post the key, the licensee `review_window` to check it."""
        receipt = self.transact(
            "createOffer", dataset_id, currency, price, duration, delivery_window, review_window,
            purposes, max_licences, to_bytes32(terms_hash, "terms hash"),
        )  # fmt: skip
        return int(self.event_from(receipt, "OfferCreated")["offerId"])

    def close_offer(self, offer_id: int) -> Any:
        return self.transact("closeOffer", offer_id)

    def buy(self, offer_id: int, purposes: int, *, deadline: int | None = None) -> LicenceInfo:
        """Sign the terms with the sender and pay (ETH value or an approved ERC-20)."""
        if self.sender is None:
            raise InvalidInput("buying needs a sender account")
        offer = self.offer(offer_id)
        signature, deadline, _ = self.sign_terms(self.sender, offer_id, purposes, deadline)
        value = offer.price if offer.currency == ETH else 0
        receipt = self.transact("purchase", offer_id, purposes, deadline, signature, value=value)
        return self.licence(int(self.event_from(receipt, "LicencePurchased")["licenceId"]))

    def set_key_agent(self, agent: Any, allowed: bool = True) -> Any:
        return self.transact("setKeyAgent", to_address(agent, "key agent"), allowed)

    def deliver_key(self, licence_id: int, envelope_cid: str, envelope_digest: bytes) -> Any:
        return self.transact("deliverKey", licence_id, str(envelope_cid), envelope_digest)

    def refund(self, licence_id: int) -> Any:
        return self.transact("refund", licence_id)

    def accept_key(self, licence_id: int) -> Any:
        """Licensee: the key opened the dataset; release the escrow now."""
        return self.transact("acceptKey", licence_id)

    def dispute_key(self, licence_id: int) -> Any:
        """Licensee: the key does not open the dataset; freeze the escrow for the arbiter."""
        return self.transact("disputeKey", licence_id)

    def release_escrow(self, licence_id: int) -> Any:
        """Anyone: release the escrow of a delivered licence whose review window passed."""
        return self.transact("releaseEscrow", licence_id)

    def resolve_dispute(self, licence_id: int, refund_researcher: bool) -> Any:
        """Arbiter: refund the licensee, or release the escrow to the owner."""
        return self.transact("resolveDispute", licence_id, bool(refund_researcher))

    def set_currency_allowed(self, currency: str, allowed: bool = True) -> Any:
        """Admin: allowlist (or remove) an ERC-20 as an offer currency."""
        return self.transact("setCurrencyAllowed", currency, bool(allowed))

    def withdraw(self, currency: str = ETH) -> int:
        receipt = self.transact("withdraw", currency)
        return int(self.event_from(receipt, "Withdrawn")["amount"])


def _domain(name: str, contract: str) -> Eip712Domain:
    """The EIP-712 domain of a genomics contract on the connected chain."""
    from ape import chain

    return Eip712Domain(name, "1", int(chain.provider.chain_id), contract)


def chain_now() -> int:
    """The latest block's time: deadlines follow the chain (test chains travel in time)."""
    from ape import chain

    return int(chain.blocks.head.timestamp)
