// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IGenomicLicensing
/// @notice Errors, events and types of the genomic licence market: offers on dataset tokens,
/// EIP-712 signed data-use terms, escrowed payments released when the dataset key envelope
/// for the licensee is posted, refunds after the delivery deadline, pull withdrawals.
interface IGenomicLicensing {
    /// @notice Pending: paid, key not yet posted. Delivered: key posted, escrow released.
    /// Refunded: the deadline passed without a key and the researcher reclaimed the payment.
    enum LicenceStatus {
        None,
        Pending,
        Delivered,
        Refunded
    }

    /// @notice A licence offer. Packing: slot 0 = currency (20) | price (12);
    /// slot 1 = datasetId (8) | duration (4) | deliveryWindow (4) | purposes (4) |
    /// maxLicences (4) | sold (4) | active (1); slot 2 = termsHash.
    struct Offer {
        address currency; // address(0) = ETH
        uint96 price;
        uint64 datasetId;
        uint32 duration; // seconds a licence runs from purchase
        uint32 deliveryWindow; // seconds the owner has to post the key
        uint32 purposes; // DUO bitmask: bits 0-15 permitted purposes, 16-31 required modifiers
        uint32 maxLicences;
        uint32 sold; // licences not refunded
        bool active;
        bytes32 termsHash; // hash of the data-use agreement text the researcher signs
    }

    /// @notice A licence, one per (dataset, researcher), ERC-5643-like expiry.
    /// Packing (one slot): expiresAt (5) | keyDeadline (4) | purposes (4) | offerId (4) |
    /// amount (12) | status (1) | nonce (2).
    struct Licence {
        uint40 expiresAt;
        uint32 keyDeadline;
        uint32 purposes;
        uint32 offerId;
        uint96 amount;
        LicenceStatus status;
        uint16 nonce; // purchases of this (dataset, researcher) pair: the EIP-712 nonce
    }

    /// @notice No offer has this id.
    error LicensingOfferNotFound(uint256 offerId);
    /// @notice The offer was closed.
    error LicensingOfferClosed(uint256 offerId);
    /// @notice Every licence of the offer is taken.
    error LicensingOfferSoldOut(uint256 offerId, uint32 maxLicences);
    /// @notice Offer terms are unusable; `reason` names the field.
    error LicensingInvalidOffer(bytes32 reason);
    /// @notice The caller does not own the dataset token.
    error LicensingNotDatasetOwner(uint256 datasetId, address account, address owner);
    /// @notice The dataset does not accept new licences or offers (paused, retired or missing).
    error LicensingDatasetNotActive(uint256 datasetId, uint8 state);
    /// @notice Requested purposes are empty, outside the offer, or drop a required modifier.
    error LicensingPurposeNotOffered(uint256 offerId, uint32 requested, uint32 offered);
    /// @notice ETH sent does not match the price (ETH offers) or is non-zero (ERC-20 offers).
    error LicensingWrongPayment(uint256 expected, uint256 sent);
    /// @notice The signed terms' deadline has passed.
    error LicensingTermsExpired(uint256 deadline, uint256 nowTimestamp);
    /// @notice The signature over the data-use terms is not the researcher's.
    error LicensingInvalidTermsSignature(address researcher, bytes32 digest);
    /// @notice The researcher already holds a paid, running or undelivered licence on the dataset.
    error LicensingLicenceOpen(uint256 licenceId, LicenceStatus status, uint40 expiresAt);
    /// @notice The licence is not waiting for its key (none, delivered or refunded).
    error LicensingNotAwaitingKey(uint256 licenceId, LicenceStatus status);
    /// @notice The caller is neither the dataset owner nor a key agent the owner authorised.
    error LicensingNotKeyAgent(uint256 datasetId, address owner, address caller);
    /// @notice The key delivery deadline has passed; only a refund remains.
    error LicensingDeliveryClosed(uint256 licenceId, uint32 keyDeadline);
    /// @notice The key delivery deadline has not passed yet; no refund before it.
    error LicensingDeliveryStillOpen(uint256 licenceId, uint32 keyDeadline);
    /// @notice Only the licensee may reclaim its payment.
    error LicensingNotLicensee(uint256 licenceId, address caller);
    /// @notice The key envelope reference is empty.
    error LicensingEmptyEnvelope(uint256 licenceId);
    /// @notice Nothing to withdraw in this currency.
    error LicensingNothingToWithdraw(address account, address currency);
    /// @notice The platform fee exceeds its cap, or the treasury is zero.
    error LicensingInvalidFee(address treasury, uint16 feeBps, uint16 maxFeeBps);
    /// @notice The dataset id does not fit the licence id layout (64 bits).
    error LicensingDatasetIdTooLarge(uint256 datasetId);

    /// @notice An offer was created on a dataset.
    event OfferCreated(
        uint256 indexed offerId,
        uint256 indexed datasetId,
        address currency,
        uint96 price,
        uint32 duration,
        uint32 deliveryWindow,
        uint32 purposes,
        uint32 maxLicences,
        bytes32 termsHash
    );
    /// @notice An offer was closed by the dataset owner.
    event OfferClosed(uint256 indexed offerId);
    /// @notice A researcher bought a licence; the payment sits in escrow until key delivery.
    event LicencePurchased(
        uint256 indexed licenceId,
        uint256 indexed datasetId,
        address indexed researcher,
        uint256 offerId,
        uint32 purposes,
        uint96 amount,
        uint40 expiresAt,
        uint32 keyDeadline,
        bytes32 termsDigest
    );
    /// @notice The key envelope for a licence was posted (`envelopeCid` in the content store).
    event KeyDelivered(uint256 indexed licenceId, address indexed researcher, string envelopeCid, bytes32 envelopeDigest);
    /// @notice Escrow released on key delivery, split into pull balances.
    event EscrowReleased(
        uint256 indexed licenceId,
        address currency,
        address owner,
        uint256 ownerShare,
        address royaltyReceiver,
        uint256 royalty,
        address treasury,
        uint256 fee
    );
    /// @notice Escrow returned to the researcher after a missed delivery deadline.
    event EscrowRefunded(uint256 indexed licenceId, address indexed researcher, address currency, uint256 amount);
    /// @notice A pull balance was withdrawn.
    event Withdrawn(address indexed account, address indexed currency, uint256 amount);
    /// @notice An owner authorised or revoked a key-delivery agent.
    event KeyAgentSet(address indexed owner, address indexed agent, bool allowed);
    /// @notice The platform fee or its treasury changed.
    event PlatformFeeSet(address treasury, uint16 feeBps);

    /// @notice True when `researcher` holds a paid, unexpired, unrefunded licence on `datasetId`
    /// covering every DUO bit in `purpose` (non-zero). Constant cost: one storage read.
    function isLicensed(uint256 datasetId, address researcher, uint32 purpose) external view returns (bool);
}
