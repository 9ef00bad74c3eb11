// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IGenomicLicensing
/// @notice Errors, events and types of the genomic licence market: offers on dataset tokens,
/// EIP-712 signed data-use terms (every term the researcher pays for is signed), escrowed
/// payments held until the licensee accepts the posted key envelope or its review window
/// passes undisputed, arbitrated disputes, refunds after a missed delivery deadline, pull
/// withdrawals. A licence's term starts when its key is delivered.
interface IGenomicLicensing {
    /// @notice Pending: paid, key not yet posted (not licensed). Delivered: key posted, the
    /// term runs, escrow held during the review window. Released: escrow paid out (accepted,
    /// review window passed, or dispute resolved for the owner). Disputed: the licensee
    /// contested the key in the review window; escrow frozen, not licensed. Refunded: the
    /// payment went back (missed delivery deadline, or dispute resolved for the licensee).
    enum LicenceStatus {
        None,
        Pending,
        Delivered,
        Released,
        Disputed,
        Refunded
    }

    /// @notice A licence offer; immutable once created except `sold` and `active`.
    /// Packing: slot 0 = currency (20) | price (12); slot 1 = datasetId (8) | duration (4) |
    /// deliveryWindow (4) | purposes (4) | maxLicences (4) | sold (4) | active (1) |
    /// reviewWindow (3); slot 2 = termsHash.
    struct Offer {
        address currency; // address(0) = ETH; ERC-20s must be allowlisted
        uint96 price;
        uint64 datasetId;
        uint32 duration; // seconds a licence runs from key delivery
        uint32 deliveryWindow; // seconds the owner has to post the key after purchase
        uint32 purposes; // DUO bitmask: bits 0-15 permitted purposes, 16-31 required modifiers
        uint32 maxLicences;
        uint32 sold; // licences not refunded
        bool active;
        uint24 reviewWindow; // seconds the licensee has after delivery to check the key
        bytes32 termsHash; // hash of the data-use agreement text the researcher signs
    }

    /// @notice A licence, one per (dataset, researcher), ERC-5643-like expiry.
    /// Packing (one slot): expiresAt (5) | deadline (5) | purposes (4) | offerId (4) |
    /// feeBps (2) | status (1) | nonce (2). The amount is the offer's (immutable) price.
    struct Licence {
        uint40 expiresAt; // 0 until the key is delivered: the term starts at delivery
        uint40 deadline; // Pending: key delivery deadline; Delivered: end of the review window
        uint32 purposes;
        uint32 offerId;
        uint16 feeBps; // platform fee in force at purchase (later fee changes do not apply)
        LicenceStatus status;
        uint16 nonce; // purchases of this (dataset, researcher) pair: the EIP-712 nonce
    }

    /// @notice No offer has this id.
    error GenomicLicensingOfferNotFound(uint256 offerId);
    /// @notice The offer was closed.
    error GenomicLicensingOfferClosed(uint256 offerId);
    /// @notice Every licence of the offer is taken.
    error GenomicLicensingOfferSoldOut(uint256 offerId, uint32 maxLicences);
    /// @notice Offer terms are unusable; `reason` names the field.
    error GenomicLicensingInvalidOffer(bytes32 reason);
    /// @notice The caller does not own the dataset token.
    error GenomicLicensingNotDatasetOwner(uint256 datasetId, address account, address owner);
    /// @notice The dataset does not accept new licences or offers (paused, retired or missing).
    error GenomicLicensingDatasetNotActive(uint256 datasetId, uint8 state);
    /// @notice Requested purposes are empty, outside the offer, or drop a required modifier.
    error GenomicLicensingPurposeNotOffered(uint256 offerId, uint32 requested, uint32 offered);
    /// @notice ETH sent does not match the price (ETH offers) or is non-zero (ERC-20 offers).
    error GenomicLicensingWrongPayment(uint256 expected, uint256 sent);
    /// @notice The signed terms' deadline has passed.
    error GenomicLicensingTermsExpired(uint256 deadline, uint256 nowTimestamp);
    /// @notice The signature over the data-use terms is not the researcher's.
    error GenomicLicensingInvalidTermsSignature(address researcher, bytes32 digest);
    /// @notice The researcher already holds a paid, running, disputed or undelivered licence on the dataset.
    error GenomicLicensingLicenceOpen(uint256 licenceId, LicenceStatus status, uint40 expiresAt);
    /// @notice The licence is not waiting for its key (none, delivered, released, disputed or refunded).
    error GenomicLicensingNotAwaitingKey(uint256 licenceId, LicenceStatus status);
    /// @notice The caller is neither the dataset owner nor a key agent the owner authorised.
    error GenomicLicensingNotKeyAgent(uint256 datasetId, address owner, address caller);
    /// @notice The key delivery deadline has passed; only a refund remains.
    error GenomicLicensingDeliveryClosed(uint256 licenceId, uint40 keyDeadline);
    /// @notice The key delivery deadline has not passed yet; no refund before it.
    error GenomicLicensingDeliveryStillOpen(uint256 licenceId, uint40 keyDeadline);
    /// @notice Only the licensee may refund, accept or dispute its licence.
    error GenomicLicensingNotLicensee(uint256 licenceId, address caller);
    /// @notice The key envelope reference is empty.
    error GenomicLicensingEmptyEnvelope(uint256 licenceId);
    /// @notice The licence's key is not under review (its escrow is not held for acceptance).
    error GenomicLicensingNotUnderReview(uint256 licenceId, LicenceStatus status);
    /// @notice The review window is still open: escrow is released early only by the licensee's acceptance.
    error GenomicLicensingReviewStillOpen(uint256 licenceId, uint40 reviewDeadline);
    /// @notice The review window has closed: the key can no longer be disputed.
    error GenomicLicensingReviewClosed(uint256 licenceId, uint40 reviewDeadline);
    /// @notice The licence is not disputed.
    error GenomicLicensingNotDisputed(uint256 licenceId, LicenceStatus status);
    /// @notice The ERC-20 is not allowlisted (fee-on-transfer or rebasing tokens would make escrow insolvent).
    error GenomicLicensingCurrencyNotAllowed(address currency);
    /// @notice Nothing to withdraw in this currency.
    error GenomicLicensingNothingToWithdraw(address account, address currency);
    /// @notice The platform fee exceeds its cap, or the treasury is zero.
    error GenomicLicensingInvalidFee(address treasury, uint16 feeBps, uint16 maxFeeBps);
    /// @notice The dataset id does not fit the licence id layout (64 bits).
    error GenomicLicensingDatasetIdTooLarge(uint256 datasetId);

    /// @notice An offer was created on a dataset.
    event OfferCreated(
        uint256 indexed offerId,
        uint256 indexed datasetId,
        address currency,
        uint96 price,
        uint32 duration,
        uint32 deliveryWindow,
        uint24 reviewWindow,
        uint32 purposes,
        uint32 maxLicences,
        bytes32 termsHash
    );
    /// @notice An offer was closed by the dataset owner.
    event OfferClosed(uint256 indexed offerId);
    /// @notice A researcher bought a licence; the payment sits in escrow; the term starts at key delivery.
    event LicencePurchased(
        uint256 indexed licenceId,
        uint256 indexed datasetId,
        address indexed researcher,
        uint256 offerId,
        uint32 purposes,
        uint96 amount,
        uint16 feeBps,
        uint40 keyDeadline,
        bytes32 termsDigest
    );
    /// @notice The key envelope for a licence was posted (`envelopeCid` in the content store);
    /// the licence runs until `expiresAt`; the licensee may dispute until `reviewDeadline`.
    event KeyDelivered(
        uint256 indexed licenceId,
        address indexed researcher,
        string envelopeCid,
        bytes32 envelopeDigest,
        uint40 expiresAt,
        uint40 reviewDeadline
    );
    /// @notice The licensee contested the posted key; its escrow waits for the arbiter.
    event KeyDisputed(uint256 indexed licenceId, address indexed researcher);
    /// @notice The arbiter settled a dispute: refunded to the licensee, or released to the owner.
    event DisputeResolved(uint256 indexed licenceId, address indexed arbiter, bool refunded);
    /// @notice Escrow released, split into pull balances.
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
    /// @notice Escrow returned to the researcher (missed delivery deadline, or a dispute it won).
    event EscrowRefunded(uint256 indexed licenceId, address indexed researcher, address currency, uint256 amount);
    /// @notice A pull balance was withdrawn.
    event Withdrawn(address indexed account, address indexed currency, uint256 amount);
    /// @notice An owner authorised or revoked a key-delivery agent.
    event KeyAgentSet(address indexed owner, address indexed agent, bool allowed);
    /// @notice The platform fee or its treasury changed (for purchases from now on).
    event PlatformFeeSet(address treasury, uint16 feeBps);
    /// @notice An ERC-20 was allowlisted as an offer currency, or removed.
    event CurrencyAllowed(address indexed currency, bool allowed);

    /// @notice True when `researcher` holds a delivered, unexpired, undisputed, unrefunded
    /// licence on `datasetId` covering every DUO bit in `purpose` (non-zero). Ids that do not
    /// fit 64 bits answer false. Constant cost: one storage read.
    function isLicensed(uint256 datasetId, address researcher, uint32 purpose) external view returns (bool);
}
