// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IGenomicDataset} from "./IGenomicDataset.sol";

/// @title IGenomicLicensing
/// @notice External API (functions, types, errors, events) of the genomic licence market:
/// offers on dataset tokens, EIP-712 signed data-use terms (every term the researcher pays for
/// is signed), escrowed payments held until the licensee accepts the posted key envelope or its
/// review window passes undisputed, arbitrated disputes, refunds after a missed delivery
/// deadline, pull withdrawals. A licence's term starts when its key is delivered.
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

    /// @notice EIP-712 type of the data-use terms a researcher signs to buy a licence: the
    /// purchase (offer id, researcher, purposes, nonce, deadline) and, nested, every term of
    /// the offer the researcher pays for.
    function TERMS_TYPEHASH() external view returns (bytes32);

    /// @notice EIP-712 type of an offer's terms (nested in DataUseTerms).
    function OFFER_TERMS_TYPEHASH() external view returns (bytes32);

    /// @notice Settles disputed key deliveries (refund the licensee or release to the owner).
    function ARBITER_ROLE() external view returns (bytes32);

    /// @notice The emergency guardian's role: it may call {pause} and nothing else.
    function GUARDIAN_ROLE() external view returns (bytes32);

    /// @notice Emergency pause until governance unpauses: stops {createOffer}, {purchase},
    /// {deliverKey}, {acceptKey}, {releaseEscrow}, {resolveDispute} and new key agents.
    /// Open while paused: reads, {closeOffer}, revoking a key agent, {disputeKey}, {refund},
    /// {withdraw}, the admin's settings and role administration. `paused()` (OpenZeppelin
    /// Pausable) tells whether a pause is in force.
    /// Requirements: caller has GUARDIAN_ROLE; not paused already (`EnforcedPause`).
    /// Emits {Paused}.
    function pause() external;

    /// @notice Lift an emergency pause.
    /// Requirements: caller has DEFAULT_ADMIN_ROLE (governance), never the guardian;
    /// paused (`ExpectedPause`).
    /// Emits {Unpaused}.
    function unpause() external;

    /// @notice DUO bits 16-31 are restriction modifiers (NPU, IRB, PUB, ...): a researcher must accept all of them.
    function MODIFIER_MASK() external view returns (uint32);

    /// @notice Longest delivery window an offer may give the owner (researcher funds are locked meanwhile).
    function MAX_DELIVERY_WINDOW() external view returns (uint32);

    /// @notice Shortest review window an offer may give the licensee to check a posted key.
    function MIN_REVIEW_WINDOW() external view returns (uint24);

    /// @notice Longest review window (the owner's income waits meanwhile).
    function MAX_REVIEW_WINDOW() external view returns (uint24);

    /// @notice The dataset token contract this market licences.
    function datasets() external view returns (IGenomicDataset);

    /// @notice Cap on the platform fee; maxFeeBps + the dataset royalty cap <= 10,000 so splits never underflow.
    function maxFeeBps() external view returns (uint16);

    /// @notice Publishes a licence offer on a dataset the caller owns. Offers never change:
    /// every term below is part of what a buyer signs.
    /// Requirements:
    /// - caller owns `datasetId`, which is `Active` and has an id < 2^64;
    /// - `currency` is ETH (zero) or an allowlisted ERC-20;
    /// - `duration` > 0; 0 < `deliveryWindow` <= MAX_DELIVERY_WINDOW;
    /// - MIN_REVIEW_WINDOW <= `reviewWindow` <= min(MAX_REVIEW_WINDOW, `duration`);
    /// - `purposes` has at least one permitted-purpose bit (0-15); `maxLicences` > 0;
    /// - the contract is not paused (OpenZeppelin `EnforcedPause`).
    /// Emits {OfferCreated}.
    function createOffer(
        uint256 datasetId,
        address currency,
        uint96 price,
        uint32 duration,
        uint32 deliveryWindow,
        uint24 reviewWindow,
        uint32 purposes,
        uint32 maxLicences,
        bytes32 termsHash
    ) external returns (uint256 offerId);

    /// @notice Closes an offer: no new licences under it; sold ones are unaffected.
    /// Requirements: the offer exists and is open; caller owns its dataset. Open while paused.
    /// Emits {OfferClosed}.
    function closeOffer(uint256 offerId) external;

    /// @notice Authorises (or revokes) `agent` to post key envelopes for all the caller's datasets.
    /// Requirements: none beyond being the caller (an owner only speaks for itself); while the
    /// contract is paused only a revocation (`allowed` false) is accepted (`EnforcedPause`).
    /// Emits {KeyAgentSet}.
    function setKeyAgent(address agent, bool allowed) external;

    /// @notice Posts the key envelope for a pending licence. The licence term starts now
    /// (it runs the offer's `duration`) and the licensee's review window opens; the escrow
    /// stays held until the licensee accepts or the window passes undisputed.
    /// Requirements:
    /// - the licence is `Pending` and its key deadline has not passed;
    /// - caller is the dataset's current owner or a key agent that owner authorised;
    /// - `envelopeDigest` is non-zero and `envelopeCid` non-empty;
    /// - the contract is not paused (OpenZeppelin `EnforcedPause`).
    /// Emits {KeyDelivered}.
    function deliverKey(
        uint256 licenceId,
        string calldata envelopeCid,
        bytes32 envelopeDigest
    ) external;

    /// @notice Releases the escrow of a delivered licence whose review window passed without
    /// a dispute (anyone may call: the owner, its agent, a keeper).
    /// Requirements: the licence is `Delivered`; its review deadline has passed; the contract
    /// is not paused (`EnforcedPause`).
    /// Emits {EscrowReleased}.
    function releaseEscrow(uint256 licenceId) external;

    /// @notice Settles a disputed delivery: refunds the licensee (into its pull balance; the
    /// licence ends and the offer regains the slot) or releases the escrow to the owner (the
    /// licence runs to its expiry).
    /// Requirements: caller has ARBITER_ROLE; the licence is `Disputed`; the contract is not
    /// paused (`EnforcedPause`).
    /// Emits {DisputeResolved}, then {EscrowRefunded} or {EscrowReleased}.
    function resolveDispute(uint256 licenceId, bool refundResearcher) external;

    /// @notice Buys a licence under `offerId` for the caller: verifies the caller's EIP-712
    /// signature over the data-use terms (every offer term, including both windows), takes the
    /// payment into escrow and fixes the platform fee in force now. The owner has
    /// `deliveryWindow` to post the key; the licence runs `duration` seconds from delivery.
    /// Requirements:
    /// - the offer is open, not sold out, and its dataset is `Active`;
    /// - ERC-20 offers: the currency is still allowlisted;
    /// - `purposes` is a non-empty subset of the offer's purposes that keeps all its modifiers;
    /// - the caller holds no pending, delivered, disputed or unexpired licence on the dataset;
    /// - `signature` is the caller's (EOA or ERC-1271) over the terms, before `deadline`;
    /// - ETH offers: msg.value == price; ERC-20 offers: no ETH, and `price` approved to this contract;
    /// - the contract is not paused (OpenZeppelin `EnforcedPause`).
    /// Emits {LicencePurchased}.
    function purchase(
        uint256 offerId,
        uint32 purposes,
        uint256 deadline,
        bytes calldata signature
    ) external payable returns (uint256 licenceId);

    /// @notice Reclaims the escrowed payment of a licence whose key was not posted in time;
    /// the licence ends (Refunded) and its offer regains the slot. Paid straight to the caller.
    /// Requirements: caller is the licensee; the licence is `Pending`; its key deadline passed.
    /// Open while paused.
    /// Emits {EscrowRefunded}.
    function refund(uint256 licenceId) external;

    /// @notice Accepts the posted key (the licensee checked it opens the dataset): releases
    /// the escrow now instead of at the end of the review window.
    /// Requirements: caller is the licensee; the licence is `Delivered`; the contract is not
    /// paused (`EnforcedPause`).
    /// Emits {EscrowReleased}.
    function acceptKey(uint256 licenceId) external;

    /// @notice Contests the posted key (it does not open the dataset): the escrow is frozen
    /// and the licence stops counting as licensed until the arbiter decides.
    /// Requirements: caller is the licensee; the licence is `Delivered`; its review window is open.
    /// Open while paused (a pause must not run out the licensee's review window).
    /// Emits {KeyDisputed}.
    function disputeKey(uint256 licenceId) external;

    /// @notice Withdraws the caller's whole pull balance in `currency` (address(0) = ETH).
    /// Requirements: the balance is non-zero. Open while paused.
    /// Emits {Withdrawn}.
    function withdraw(address currency) external returns (uint256 amount);

    /// @notice Allowlists (or removes) an ERC-20 as an offer currency. Only plain tokens that
    /// move exactly the amount asked belong here: no fee-on-transfer, rebasing or hooks that
    /// re-enter. Removal stops new offers and purchases in it; held escrow still settles.
    /// Requirements: caller has DEFAULT_ADMIN_ROLE; `currency` is a contract.
    /// Emits {CurrencyAllowed}.
    function setCurrencyAllowed(address currency, bool allowed) external;

    /// @notice Sets the platform fee and its treasury (applies to purchases from now on; each
    /// licence keeps the fee in force when it was bought, paid to the treasury at release).
    /// Requirements: caller has DEFAULT_ADMIN_ROLE; `treasury` non-zero; `feeBps` <= maxFeeBps.
    /// Emits {PlatformFeeSet}.
    function setPlatformFee(address treasury, uint16 feeBps) external;

    /// @notice The licence id of (`datasetId`, `researcher`): datasetId << 160 | researcher.
    /// Requirements: `datasetId` < 2^64.
    function licenceIdOf(uint256 datasetId, address researcher) external pure returns (uint256);

    /// @notice The licence record (zeroed when none).
    function licence(uint256 licenceId) external view returns (Licence memory);

    /// @notice ERC-5643-style expiry of a licence (0 when none or while its key is undelivered).
    function expiresAt(uint256 licenceId) external view returns (uint64);

    /// @notice The amount held in escrow for a licence (0 once released or refunded).
    function escrowOf(uint256 licenceId) external view returns (uint256);

    /// @notice Digest of the posted key envelope (zero while none is posted): agents check it before posting.
    function envelopeDigest(uint256 licenceId) external view returns (bytes32);

    /// @notice An offer (zeroed when none).
    function offer(uint256 offerId) external view returns (Offer memory);

    /// @notice Number of offers created so far (ids run 1..total).
    function totalOffers() external view returns (uint256);

    /// @notice The EIP-712 digest a researcher must sign to buy under `offerId` with `purposes`.
    function termsDigestFor(
        uint256 offerId,
        address researcher,
        uint32 purposes,
        uint256 deadline
    ) external view returns (bytes32);

    /// @notice Pull balance of `account` in `currency` (address(0) = ETH).
    function balanceOf(address account, address currency) external view returns (uint256);

    /// @notice Whether `agent` may post key envelopes for `owner`'s datasets.
    function isKeyAgent(address owner, address agent) external view returns (bool);

    /// @notice Whether `currency` may price offers (ETH, the zero address, always may).
    function isCurrencyAllowed(address currency) external view returns (bool);

    /// @notice The platform fee (basis points) and its treasury.
    function platformFee() external view returns (address treasury, uint16 feeBps);

    /// @notice The EIP-712 domain separator (chain id and this address bound in).
    function domainSeparator() external view returns (bytes32);
}
