"""Typed clients of the genomics contracts: `GenomicDatasetClient` (the dataset token)
and `GenomicsClient` (offers, EIP-712 signed purchases, key delivery, refunds,
withdrawals). Every chain call goes through `ContractClient.transact/call`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_account.messages import encode_typed_data
from eth_utils import keccak

from medchain.client import ContractClient
from medchain.errors import InvalidInput, MedchainError
from medchain.signing import EIP712_DOMAIN, sign_message

ETH = "0x0000000000000000000000000000000000000000"
TERMS_TYPES: list[dict[str, str]] = [
    {"name": "datasetId", "type": "uint256"},
    {"name": "offerId", "type": "uint256"},
    {"name": "researcher", "type": "address"},
    {"name": "purposes", "type": "uint32"},
    {"name": "currency", "type": "address"},
    {"name": "price", "type": "uint96"},
    {"name": "duration", "type": "uint32"},
    {"name": "termsHash", "type": "bytes32"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


class DatasetState(IntEnum):
    NONE = 0
    ACTIVE = 1
    PAUSED = 2
    RETIRED = 3


class LicenceStatus(IntEnum):
    NONE = 0
    PENDING = 1
    DELIVERED = 2
    REFUNDED = 3


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


@dataclass(frozen=True)
class LicenceInfo:
    licence_id: int
    dataset_id: int
    researcher: str
    expires_at: int
    key_deadline: int
    purposes: int
    offer_id: int
    amount: int
    status: LicenceStatus
    nonce: int


def licence_id_of(dataset_id: int, researcher: str) -> int:
    """Licence ids are datasetId << 160 | researcher, as the contract computes them."""
    return (int(dataset_id) << 160) | int(str(researcher), 16)


def split_licence_id(licence_id: int) -> tuple[int, str]:
    from eth_utils import to_checksum_address

    return licence_id >> 160, to_checksum_address(f"0x{licence_id & ((1 << 160) - 1):040x}")


def cid_parts(cid: Any) -> tuple[int, bytes]:
    """(codec, digest) of a CID as GenomicDataset stores it (CIDv1, sha2-256)."""
    from medchain.storage.cid import CID

    parsed = CID.parse(cid if isinstance(cid, bytes | str) else str(cid))
    return parsed.codec, parsed.digest


def _addr(value: Any) -> str:
    return str(value.address) if hasattr(value, "address") else str(value)


def _b32(value: Any) -> bytes:
    if isinstance(value, str):
        value = bytes.fromhex(value.removeprefix("0x"))
    return bytes(value).rjust(32, b"\0")


class GenomicDatasetClient(ContractClient):
    """The ERC-721 dataset token: list (mint), read, pause, resume, retire."""

    contract_name = "GenomicDataset"

    def list(
        self,
        data_cid: str,
        ciphertext_hash: bytes,
        metadata_cid: str,
        royalty_receiver: str = ETH,
        royalty_bps: int = 0,
    ) -> int:
        """Mint a dataset token to the sender; returns the dataset id. CIDs may be given as
        text or binary, v0 or v1; they are stored as CIDv1 (codec, sha2-256 digest)."""
        data_codec, data_digest = cid_parts(data_cid)
        meta_codec, meta_digest = cid_parts(metadata_cid)
        receipt = self.transact(
            "list", data_codec, data_digest, ciphertext_hash, meta_codec, meta_digest,
            royalty_receiver, royalty_bps,
        )  # fmt: skip
        logs = [log for log in receipt.events if log.event_name == "DatasetListed"]
        return int(logs[0].datasetId)

    def dataset(self, dataset_id: int) -> DatasetInfo:
        data_cid, cipher_hash, meta_cid, state, listed_at = self.call("dataset", dataset_id)
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
        return GenomicDatasetClient.at(str(self.call("datasets")), self.sender)

    def offer(self, offer_id: int) -> OfferInfo:
        o = self.call("offer", offer_id)
        if int(o.datasetId) == 0:
            raise InvalidInput(f"offer {offer_id} does not exist")
        return OfferInfo(
            int(offer_id), int(o.datasetId), str(o.currency), int(o.price), int(o.duration),
            int(o.deliveryWindow), int(o.purposes), int(o.maxLicences), int(o.sold),
            bool(o.active), bytes(o.termsHash),
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
        return LicenceInfo(
            licence_id, dataset_id, researcher, int(raw.expiresAt), int(raw.keyDeadline),
            int(raw.purposes), int(raw.offerId), int(raw.amount), LicenceStatus(int(raw.status)),
            int(raw.nonce),
        )  # fmt: skip

    def licence_for(self, dataset_id: int, researcher: Any) -> LicenceInfo:
        return self.licence(licence_id_of(dataset_id, _addr(researcher)))

    def is_licensed(self, dataset_id: int, researcher: Any, purpose: int) -> bool:
        return bool(self.call("isLicensed", dataset_id, _addr(researcher), purpose))

    def envelope_digest(self, licence_id: int) -> bytes:
        return bytes(self.call("envelopeDigest", licence_id))

    def balance(self, account: Any, currency: str = ETH) -> int:
        return int(self.call("balanceOf", _addr(account), currency))

    def licences_of(self, researcher: Any, from_block: int = 0) -> list[LicenceInfo]:
        """Current state of every licence `researcher` ever bought (from purchase events)."""
        ids: dict[int, None] = {}
        for log in self.contract.LicencePurchased.range(
            from_block, _head() + 1, search_topics={"researcher": _addr(researcher)}
        ):
            ids[int(log.licenceId)] = None
        return [self.licence(i) for i in ids]

    def delivered_envelope(self, licence_id: int, from_block: int = 0) -> tuple[str, bytes] | None:
        """(envelope CID, digest) of the latest key posted for the licence's current
        purchase, or None while none is posted."""
        digest = self.envelope_digest(licence_id)
        if digest == b"\0" * 32:
            return None
        logs = list(
            self.contract.KeyDelivered.range(
                from_block, _head() + 1, search_topics={"licenceId": licence_id}
            )
        )
        for log in reversed(logs):
            if bytes(log.envelopeDigest) == digest:
                return str(log.envelopeCid), digest
        return None

    # -- EIP-712 terms -------------------------------------------------------------

    def typed_data(
        self, offer: OfferInfo, researcher: Any, purposes: int, deadline: int, nonce: int
    ) -> dict[str, Any]:
        from ape import chain

        return {
            "types": {
                "EIP712Domain": EIP712_DOMAIN,
                "DataUseTerms": TERMS_TYPES,
            },
            "primaryType": "DataUseTerms",
            "domain": {
                "name": "medchain GenomicLicensing",
                "version": "1",
                "chainId": chain.chain_id,
                "verifyingContract": self.address,
            },
            "message": {
                "datasetId": offer.dataset_id,
                "offerId": offer.offer_id,
                "researcher": _addr(researcher),
                "purposes": purposes,
                "currency": offer.currency,
                "price": offer.price,
                "duration": offer.duration,
                "termsHash": offer.terms_hash,
                "nonce": nonce,
                "deadline": deadline,
            },
        }

    def sign_terms(
        self, signer: Any, offer_id: int, purposes: int, deadline: int | None = None
    ) -> tuple[bytes, int, bytes]:
        """The researcher's EIP-712 signature over the offer's data-use terms:
        (signature, deadline, digest). The digest is checked against the contract's."""
        offer = self.offer(offer_id)
        researcher = _addr(signer)
        # Chain time, not wall time: test chains travel in time.
        deadline = deadline if deadline is not None else _now() + 3600
        nonce = self.licence_for(offer.dataset_id, researcher).nonce
        data = self.typed_data(offer, researcher, purposes, deadline, nonce)
        message = encode_typed_data(full_message=data)
        local = keccak(b"\x19" + message.version + message.header + message.body)
        onchain = bytes(self.call("termsDigestFor", offer_id, researcher, purposes, deadline))
        if local != onchain:
            raise InvalidInput("local EIP-712 digest differs from the contract's (wrong domain?)")
        return sign_typed(signer, message), deadline, onchain

    # -- writes --------------------------------------------------------------------

    def create_offer(
        self,
        dataset_id: int,
        *,
        price: int,
        duration: int,
        purposes: int,
        delivery_window: int = 3 * 86400,
        max_licences: int = 2**32 - 1,
        currency: str = ETH,
        terms_hash: bytes = b"\0" * 32,
    ) -> int:
        receipt = self.transact(
            "createOffer", dataset_id, currency, price, duration, delivery_window, purposes,
            max_licences, _b32(terms_hash),
        )  # fmt: skip
        return int(next(e for e in receipt.events if e.event_name == "OfferCreated").offerId)

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
        event = next(e for e in receipt.events if e.event_name == "LicencePurchased")
        return self.licence(int(event.licenceId))

    def set_key_agent(self, agent: Any, allowed: bool = True) -> Any:
        return self.transact("setKeyAgent", _addr(agent), allowed)

    def deliver_key(self, licence_id: int, envelope_cid: str, envelope_digest: bytes) -> Any:
        return self.transact("deliverKey", licence_id, str(envelope_cid), envelope_digest)

    def refund(self, licence_id: int) -> Any:
        return self.transact("refund", licence_id)

    def withdraw(self, currency: str = ETH) -> int:
        receipt = self.transact("withdraw", currency)
        return int(next(e for e in receipt.events if e.event_name == "Withdrawn").amount)


def _head() -> int:
    from ape import chain

    return int(chain.blocks.head.number)


def _now() -> int:
    from ape import chain

    return int(chain.blocks.head.timestamp)


sign_typed = sign_message  # the shared signer, under this module's public name
