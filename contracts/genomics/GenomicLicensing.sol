// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

// GenomicLicensing: time-bound, purpose-limited licences on GenomicDataset tokens.
// Owners publish offers (ETH or allowlisted ERC-20 price, duration, delivery and review
// windows, GA4GH DUO purpose bitmask, cap); a researcher signs every one of those terms
// (EIP-712) and pays into escrow; the licence is a non-transferable record keyed by
// (dataset, researcher). The owner or its agent posts the researcher's key envelope before
// the delivery deadline, and the licence term starts then. Escrow is released into pull
// balances (owner, ERC-2981 royalty, platform fee fixed at purchase) only when the licensee
// accepts the key or its review window passes undisputed; a disputed key waits for the
// arbiter. A key never posted in time is refunded.
// Emergency pause (docs/governance.md): GUARDIAN_ROLE may pause, only the admin (governance)
// unpauses. A pause freezes every path that opens a licence or moves escrow into balances;
// what protects a party stays open: closing an offer, revoking a key agent, disputing a
// key, refunds of undelivered licences and withdrawals of balances already credited.

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {IGenomicDataset} from "../interfaces/IGenomicDataset.sol";
import {IGenomicLicensing} from "../interfaces/IGenomicLicensing.sol";

interface IGenomicDatasetRoyaltyCap {
    function maxRoyaltyBps() external view returns (uint96);
}

// Pausable last among the bases: its flag shares the slot of _treasury | _feeBps |
// _nextOfferId, which createOffer, purchase and every release read anyway.
contract GenomicLicensing is IGenomicLicensing, AccessControl, EIP712, ReentrancyGuard, Pausable {
    using SafeERC20 for IERC20;

    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IGenomicLicensing
    bytes32 public constant TERMS_TYPEHASH = keccak256(
        "DataUseTerms(uint256 offerId,address researcher,uint32 purposes,uint256 nonce,uint256 deadline,OfferTerms offer)OfferTerms(uint256 datasetId,address currency,uint96 price,uint32 duration,uint32 deliveryWindow,uint32 reviewWindow,bytes32 termsHash)"
    );
    /// @inheritdoc IGenomicLicensing
    bytes32 public constant OFFER_TERMS_TYPEHASH = keccak256(
        "OfferTerms(uint256 datasetId,address currency,uint96 price,uint32 duration,uint32 deliveryWindow,uint32 reviewWindow,bytes32 termsHash)"
    );
    /// @inheritdoc IGenomicLicensing
    bytes32 public constant ARBITER_ROLE = keccak256("ARBITER_ROLE");
    /// @inheritdoc IGenomicLicensing
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    /// @inheritdoc IGenomicLicensing
    uint32 public constant MODIFIER_MASK = 0xFFFF0000;
    /// @inheritdoc IGenomicLicensing
    uint32 public constant MAX_DELIVERY_WINDOW = 30 days;
    /// @inheritdoc IGenomicLicensing
    uint24 public constant MIN_REVIEW_WINDOW = 1 days;
    /// @inheritdoc IGenomicLicensing
    uint24 public constant MAX_REVIEW_WINDOW = 30 days;
    uint16 private constant _BPS = 10_000;

    /// @inheritdoc IGenomicLicensing
    IGenomicDataset public immutable datasets;
    /// @inheritdoc IGenomicLicensing
    uint16 public immutable maxFeeBps;

    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    // Packing: Pausable's flag (1) | treasury (20) | feeBps (2) | nextOfferId (4) in one slot.
    address private _treasury;
    uint16 private _feeBps;
    uint32 private _nextOfferId = 1;

    mapping(uint256 offerId => Offer) private _offers;
    mapping(uint256 licenceId => Licence) private _licences;
    mapping(uint256 licenceId => bytes32) private _envelopeDigests;
    mapping(address account => mapping(address currency => uint256)) private _balances;
    mapping(address owner => mapping(address agent => bool)) private _keyAgents;
    mapping(address currency => bool) private _currencyAllowed;

    constructor(IGenomicDataset datasets_, address admin, address treasury, uint16 feeBps, uint16 maxFeeBps_)
        EIP712("medchain GenomicLicensing", "1")
    {
        uint96 royaltyCap = IGenomicDatasetRoyaltyCap(address(datasets_)).maxRoyaltyBps();
        if (uint256(maxFeeBps_) + royaltyCap > _BPS) revert GenomicLicensingInvalidFee(treasury, maxFeeBps_, uint16(_BPS - royaltyCap));
        datasets = datasets_;
        maxFeeBps = maxFeeBps_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(ARBITER_ROLE, admin);
        _setFee(treasury, feeBps);
    }

    /*//////////////////////////////////////////////////////////////
                            OWNER OPERATIONS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IGenomicLicensing
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
    ) external whenNotPaused returns (uint256 offerId) {
        if (datasetId > type(uint64).max) revert GenomicLicensingDatasetIdTooLarge(datasetId);
        (address owner, IGenomicDataset.DatasetState state) = datasets.ownerAndState(datasetId);
        if (msg.sender != owner) revert GenomicLicensingNotDatasetOwner(datasetId, msg.sender, owner);
        if (state != IGenomicDataset.DatasetState.Active) revert GenomicLicensingDatasetNotActive(datasetId, uint8(state));
        if (currency != address(0) && !_currencyAllowed[currency]) revert GenomicLicensingCurrencyNotAllowed(currency);
        if (duration == 0) revert GenomicLicensingInvalidOffer("duration");
        if (deliveryWindow == 0 || deliveryWindow > MAX_DELIVERY_WINDOW) revert GenomicLicensingInvalidOffer("deliveryWindow");
        if (reviewWindow < MIN_REVIEW_WINDOW || reviewWindow > MAX_REVIEW_WINDOW || reviewWindow > duration) {
            revert GenomicLicensingInvalidOffer("reviewWindow");
        }
        if (purposes & ~MODIFIER_MASK == 0) revert GenomicLicensingInvalidOffer("purposes");
        if (maxLicences == 0) revert GenomicLicensingInvalidOffer("maxLicences");
        offerId = _nextOfferId++;
        _offers[offerId] = Offer({
            currency: currency,
            price: price,
            datasetId: uint64(datasetId),
            duration: duration,
            deliveryWindow: deliveryWindow,
            purposes: purposes,
            maxLicences: maxLicences,
            sold: 0,
            active: true,
            reviewWindow: reviewWindow,
            termsHash: termsHash
        });
        emit OfferCreated(
            offerId, datasetId, currency, price, duration, deliveryWindow, reviewWindow, purposes, maxLicences, termsHash
        );
    }

    /// @inheritdoc IGenomicLicensing
    /// @dev Open while paused: the owner withdrawing an offer.
    function closeOffer(uint256 offerId) external {
        Offer storage o = _offers[offerId];
        if (o.datasetId == 0) revert GenomicLicensingOfferNotFound(offerId);
        if (!o.active) revert GenomicLicensingOfferClosed(offerId);
        _requireOwner(o.datasetId);
        o.active = false;
        emit OfferClosed(offerId);
    }

    /// @inheritdoc IGenomicLicensing
    /// @dev While paused only a revocation (`allowed` false) is accepted.
    function setKeyAgent(address agent, bool allowed) external {
        if (allowed) _requireNotPaused();
        _keyAgents[msg.sender][agent] = allowed;
        emit KeyAgentSet(msg.sender, agent, allowed);
    }

    /// @inheritdoc IGenomicLicensing
    /// @dev Paused: a pause that outlasts the delivery window ends in the researcher's refund,
    /// the safe direction.
    function deliverKey(uint256 licenceId, string calldata envelopeCid, bytes32 envelopeDigest)
        external
        whenNotPaused
    {
        Licence memory lic = _licences[licenceId];
        if (lic.status != LicenceStatus.Pending) revert GenomicLicensingNotAwaitingKey(licenceId, lic.status);
        if (block.timestamp > lic.deadline) revert GenomicLicensingDeliveryClosed(licenceId, lic.deadline);
        if (envelopeDigest == bytes32(0) || bytes(envelopeCid).length == 0) revert GenomicLicensingEmptyEnvelope(licenceId);
        uint256 datasetId = licenceId >> 160;
        address owner = IERC721(address(datasets)).ownerOf(datasetId);
        if (msg.sender != owner && !_keyAgents[owner][msg.sender]) {
            revert GenomicLicensingNotKeyAgent(datasetId, owner, msg.sender);
        }
        Offer storage o = _offers[lic.offerId];
        lic.expiresAt = uint40(block.timestamp) + o.duration;
        lic.deadline = uint40(block.timestamp) + o.reviewWindow;
        lic.status = LicenceStatus.Delivered;
        _licences[licenceId] = lic;
        _envelopeDigests[licenceId] = envelopeDigest;
        emit KeyDelivered(
            licenceId, address(uint160(licenceId)), envelopeCid, envelopeDigest, lic.expiresAt, lic.deadline
        );
    }

    /// @inheritdoc IGenomicLicensing
    function releaseEscrow(uint256 licenceId) external whenNotPaused {
        Licence memory lic = _licences[licenceId];
        if (lic.status != LicenceStatus.Delivered) revert GenomicLicensingNotUnderReview(licenceId, lic.status);
        if (block.timestamp <= lic.deadline) revert GenomicLicensingReviewStillOpen(licenceId, lic.deadline);
        _release(licenceId, lic);
    }

    /// @inheritdoc IGenomicLicensing
    function resolveDispute(uint256 licenceId, bool refundResearcher)
        external
        onlyRole(ARBITER_ROLE)
        whenNotPaused
    {
        Licence memory lic = _licences[licenceId];
        if (lic.status != LicenceStatus.Disputed) revert GenomicLicensingNotDisputed(licenceId, lic.status);
        if (!refundResearcher) {
            emit DisputeResolved(licenceId, msg.sender, false);
            _release(licenceId, lic);
            return;
        }
        _licences[licenceId].status = LicenceStatus.Refunded;
        Offer storage o = _offers[lic.offerId];
        // A disputed licence was counted in `sold`, so sold >= 1 here.
        unchecked {
            o.sold -= 1;
        }
        address researcher = address(uint160(licenceId));
        address currency = o.currency;
        uint96 amount = o.price;
        _balances[researcher][currency] += amount;
        emit DisputeResolved(licenceId, msg.sender, true);
        emit EscrowRefunded(licenceId, researcher, currency, amount);
    }

    /*//////////////////////////////////////////////////////////////
                         RESEARCHER OPERATIONS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IGenomicLicensing
    function purchase(uint256 offerId, uint32 purposes, uint256 deadline, bytes calldata signature)
        external
        payable
        nonReentrant
        whenNotPaused
        returns (uint256 licenceId)
    {
        Offer memory offer = _checkedOffer(offerId, purposes, deadline);
        licenceId = (uint256(offer.datasetId) << 160) | uint256(uint160(msg.sender));
        uint16 nonce = _checkedReplacement(licenceId);
        bytes32 digest = _termsDigest(offerId, offer, msg.sender, purposes, nonce, deadline);
        if (!SignatureChecker.isValidSignatureNow(msg.sender, digest, signature)) {
            revert GenomicLicensingInvalidTermsSignature(msg.sender, digest);
        }
        _open(licenceId, offerId, offer, purposes, nonce, digest);
        if (offer.currency != address(0) && offer.price != 0) {
            IERC20(offer.currency).safeTransferFrom(msg.sender, address(this), offer.price);
        }
    }

    /// @inheritdoc IGenomicLicensing
    /// @dev Open while paused: the researcher's own escrow for a key that was not delivered
    /// (and cannot be while paused) is never held hostage by a pause.
    function refund(uint256 licenceId) external nonReentrant {
        if (address(uint160(licenceId)) != msg.sender) revert GenomicLicensingNotLicensee(licenceId, msg.sender);
        Licence storage l = _licences[licenceId];
        Licence memory lic = l;
        if (lic.status != LicenceStatus.Pending) revert GenomicLicensingNotAwaitingKey(licenceId, lic.status);
        if (block.timestamp <= lic.deadline) revert GenomicLicensingDeliveryStillOpen(licenceId, lic.deadline);
        l.status = LicenceStatus.Refunded;
        Offer storage o = _offers[lic.offerId];
        // A pending licence was counted in `sold`, so sold >= 1 here.
        unchecked {
            o.sold -= 1;
        }
        address currency = o.currency;
        uint96 amount = o.price;
        emit EscrowRefunded(licenceId, msg.sender, currency, amount);
        _pay(currency, msg.sender, amount);
    }

    /// @inheritdoc IGenomicLicensing
    function acceptKey(uint256 licenceId) external whenNotPaused {
        if (address(uint160(licenceId)) != msg.sender) revert GenomicLicensingNotLicensee(licenceId, msg.sender);
        Licence memory lic = _licences[licenceId];
        if (lic.status != LicenceStatus.Delivered) revert GenomicLicensingNotUnderReview(licenceId, lic.status);
        _release(licenceId, lic);
    }

    /// @inheritdoc IGenomicLicensing
    /// @dev Open while paused: otherwise a pause could run out the review window and let the
    /// owner release escrow after it without the researcher ever being able to object.
    function disputeKey(uint256 licenceId) external {
        if (address(uint160(licenceId)) != msg.sender) revert GenomicLicensingNotLicensee(licenceId, msg.sender);
        Licence memory lic = _licences[licenceId];
        if (lic.status != LicenceStatus.Delivered) revert GenomicLicensingNotUnderReview(licenceId, lic.status);
        if (block.timestamp > lic.deadline) revert GenomicLicensingReviewClosed(licenceId, lic.deadline);
        _licences[licenceId].status = LicenceStatus.Disputed;
        emit KeyDisputed(licenceId, msg.sender);
    }

    /// @inheritdoc IGenomicLicensing
    /// @dev Open while paused: only the paused paths credit balances, so a pause freezes the
    /// ledger and withdrawals pay out what was credited before it; nobody's money is locked.
    function withdraw(address currency) external nonReentrant returns (uint256 amount) {
        amount = _balances[msg.sender][currency];
        if (amount == 0) revert GenomicLicensingNothingToWithdraw(msg.sender, currency);
        _balances[msg.sender][currency] = 0;
        emit Withdrawn(msg.sender, currency, amount);
        _pay(currency, msg.sender, amount);
    }

    /*//////////////////////////////////////////////////////////////
                                 ADMIN
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IGenomicLicensing
    function pause() external onlyRole(GUARDIAN_ROLE) {
        _pause();
    }

    /// @inheritdoc IGenomicLicensing
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    // setCurrencyAllowed and setPlatformFee stay open while paused: governance's own settings
    // (pausing them adds nothing, their caller can unpause), possibly needed to end an incident.

    /// @inheritdoc IGenomicLicensing
    function setCurrencyAllowed(address currency, bool allowed) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (currency.code.length == 0) revert GenomicLicensingCurrencyNotAllowed(currency);
        _currencyAllowed[currency] = allowed;
        emit CurrencyAllowed(currency, allowed);
    }

    /// @inheritdoc IGenomicLicensing
    function setPlatformFee(address treasury, uint16 feeBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setFee(treasury, feeBps);
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IGenomicLicensing
    function isLicensed(uint256 datasetId, address researcher, uint32 purpose) external view returns (bool) {
        // Offers exist only on ids < 2^64: a larger id would alias another licence id.
        if (purpose == 0 || datasetId > type(uint64).max) return false;
        Licence memory lic = _licences[(datasetId << 160) | uint256(uint160(researcher))];
        // Written with != and ordering only: Slither's strict-equality detector treats the
        // whole timestamp-bearing struct as tainted (false positive on enum/bitmask checks).
        if (lic.status != LicenceStatus.Delivered && lic.status != LicenceStatus.Released) return false;
        if ((purpose & ~lic.purposes) != 0) return false; // a requested bit is not licensed
        return lic.expiresAt > block.timestamp;
    }

    /// @inheritdoc IGenomicLicensing
    function licenceIdOf(uint256 datasetId, address researcher) external pure returns (uint256) {
        if (datasetId > type(uint64).max) revert GenomicLicensingDatasetIdTooLarge(datasetId);
        return (datasetId << 160) | uint256(uint160(researcher));
    }

    /// @inheritdoc IGenomicLicensing
    function licence(uint256 licenceId) external view returns (Licence memory) {
        return _licences[licenceId];
    }

    /// @inheritdoc IGenomicLicensing
    function expiresAt(uint256 licenceId) external view returns (uint64) {
        return _licences[licenceId].expiresAt;
    }

    /// @inheritdoc IGenomicLicensing
    function escrowOf(uint256 licenceId) external view returns (uint256) {
        Licence memory lic = _licences[licenceId];
        if (
            lic.status != LicenceStatus.Pending && lic.status != LicenceStatus.Delivered
                && lic.status != LicenceStatus.Disputed
        ) return 0;
        return _offers[lic.offerId].price;
    }

    /// @inheritdoc IGenomicLicensing
    function envelopeDigest(uint256 licenceId) external view returns (bytes32) {
        return _envelopeDigests[licenceId];
    }

    /// @inheritdoc IGenomicLicensing
    function offer(uint256 offerId) external view returns (Offer memory) {
        return _offers[offerId];
    }

    /// @inheritdoc IGenomicLicensing
    function totalOffers() external view returns (uint256) {
        return _nextOfferId - 1;
    }

    /// @inheritdoc IGenomicLicensing
    function termsDigestFor(uint256 offerId, address researcher, uint32 purposes, uint256 deadline)
        external
        view
        returns (bytes32)
    {
        Offer memory o = _offers[offerId];
        uint256 licenceId = (uint256(o.datasetId) << 160) | uint256(uint160(researcher));
        return _termsDigest(offerId, o, researcher, purposes, _licences[licenceId].nonce, deadline);
    }

    /// @inheritdoc IGenomicLicensing
    function balanceOf(address account, address currency) external view returns (uint256) {
        return _balances[account][currency];
    }

    /// @inheritdoc IGenomicLicensing
    function isKeyAgent(address owner, address agent) external view returns (bool) {
        return _keyAgents[owner][agent];
    }

    /// @inheritdoc IGenomicLicensing
    function isCurrencyAllowed(address currency) external view returns (bool) {
        return currency == address(0) || _currencyAllowed[currency];
    }

    /// @inheritdoc IGenomicLicensing
    function platformFee() external view returns (address treasury, uint16 feeBps) {
        return (_treasury, _feeBps);
    }

    /// @inheritdoc IGenomicLicensing
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    /// @dev Every purchase check that needs only the offer, the dataset state and msg.value.
    function _checkedOffer(uint256 offerId, uint32 purposes, uint256 deadline) private view returns (Offer memory offer) {
        offer = _offers[offerId];
        if (offer.datasetId == 0) revert GenomicLicensingOfferNotFound(offerId);
        if (!offer.active) revert GenomicLicensingOfferClosed(offerId);
        if (offer.sold >= offer.maxLicences) revert GenomicLicensingOfferSoldOut(offerId, offer.maxLicences);
        if (
            purposes & ~MODIFIER_MASK == 0 || purposes & ~offer.purposes != 0
                || (purposes & MODIFIER_MASK) != (offer.purposes & MODIFIER_MASK)
        ) revert GenomicLicensingPurposeNotOffered(offerId, purposes, offer.purposes);
        if (block.timestamp > deadline) revert GenomicLicensingTermsExpired(deadline, block.timestamp);
        IGenomicDataset.DatasetState state = datasets.datasetState(offer.datasetId);
        if (state != IGenomicDataset.DatasetState.Active) {
            revert GenomicLicensingDatasetNotActive(offer.datasetId, uint8(state));
        }
        if (offer.currency == address(0)) {
            if (msg.value != offer.price) revert GenomicLicensingWrongPayment(offer.price, msg.value);
        } else {
            if (msg.value != 0) revert GenomicLicensingWrongPayment(0, msg.value);
            if (!_currencyAllowed[offer.currency]) revert GenomicLicensingCurrencyNotAllowed(offer.currency);
        }
    }

    /// @dev Refuses while the pair holds a licence with escrow held (Pending, Delivered,
    /// Disputed) or a running one; clears a previous envelope digest so agents see the new
    /// licence as undelivered. Returns the pair's nonce.
    function _checkedReplacement(uint256 licenceId) private returns (uint16) {
        Licence memory prev = _licences[licenceId];
        // Replaceable = None, Refunded, or Released and expired (phrased without == for Slither).
        if (
            prev.status != LicenceStatus.None && prev.status != LicenceStatus.Refunded
                && (prev.status != LicenceStatus.Released || prev.expiresAt > block.timestamp)
        ) revert GenomicLicensingLicenceOpen(licenceId, prev.status, prev.expiresAt);
        // Released or Refunded: clear any old envelope digest (zero if never delivered).
        if (prev.status > LicenceStatus.Pending) delete _envelopeDigests[licenceId];
        return prev.nonce;
    }

    /// @dev Writes the licence (one slot, with the fee in force now) and the offer's sold count.
    function _open(uint256 licenceId, uint256 offerId, Offer memory offer, uint32 purposes, uint16 nonce, bytes32 digest)
        private
    {
        uint40 keyDeadline = uint40(block.timestamp) + offer.deliveryWindow;
        uint16 feeBps = _feeBps;
        // sold < maxLicences <= type(uint32).max was checked; the nonce wraps only after 65,536
        // purchases of one dataset by one researcher (and a replay would also need an old,
        // still-valid signature deadline).
        unchecked {
            _offers[offerId].sold = offer.sold + 1;
            _licences[licenceId] = Licence({
                expiresAt: 0,
                deadline: keyDeadline,
                purposes: purposes,
                offerId: uint32(offerId),
                feeBps: feeBps,
                status: LicenceStatus.Pending,
                nonce: nonce + 1
            });
        }
        emit LicencePurchased(
            licenceId, offer.datasetId, msg.sender, offerId, purposes, offer.price, feeBps, keyDeadline, digest
        );
    }

    /// @dev Marks the licence Released and splits its escrow into pull balances:
    /// royalty = ERC-2981 royaltyInfo(amount) (floor), fee = amount * feeBps-at-purchase / 10,000
    /// (floor), owner (current token owner) = the rest, every rounding remainder included.
    function _release(uint256 licenceId, Licence memory lic) private {
        _licences[licenceId].status = LicenceStatus.Released;
        uint256 datasetId = licenceId >> 160;
        Offer storage o = _offers[lic.offerId];
        address currency = o.currency;
        uint256 amount = o.price;
        address owner = IERC721(address(datasets)).ownerOf(datasetId);
        (address royaltyReceiver, uint256 royalty) = IERC2981(address(datasets)).royaltyInfo(datasetId, amount);
        address treasury = _treasury;
        uint256 fee = (amount * lic.feeBps) / _BPS;
        // royalty <= amount * maxRoyaltyBps / 1e4 and fee <= amount * maxFeeBps / 1e4 with the
        // caps summing to <= 1e4 (checked in the constructor), so this cannot underflow.
        uint256 ownerShare = amount - royalty - fee;
        if (royalty != 0) _balances[royaltyReceiver][currency] += royalty;
        if (fee != 0) _balances[treasury][currency] += fee;
        if (ownerShare != 0) _balances[owner][currency] += ownerShare;
        emit EscrowReleased(licenceId, currency, owner, ownerShare, royaltyReceiver, royalty, treasury, fee);
    }

    function _termsDigest(
        uint256 offerId,
        Offer memory o,
        address researcher,
        uint32 purposes,
        uint256 nonce,
        uint256 deadline
    ) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(TERMS_TYPEHASH, offerId, researcher, purposes, nonce, deadline, _offerTermsHash(o)))
        );
    }

    /// @dev EIP-712 hashStruct of the offer's terms.
    function _offerTermsHash(Offer memory o) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                OFFER_TERMS_TYPEHASH,
                uint256(o.datasetId),
                o.currency,
                o.price,
                o.duration,
                o.deliveryWindow,
                uint32(o.reviewWindow),
                o.termsHash
            )
        );
    }

    function _requireOwner(uint256 datasetId) private view {
        // The dataset exists: offers are only created on existing datasets.
        address owner = IERC721(address(datasets)).ownerOf(datasetId);
        if (msg.sender != owner) revert GenomicLicensingNotDatasetOwner(datasetId, msg.sender, owner);
    }

    function _setFee(address treasury, uint16 feeBps) private {
        if (treasury == address(0) || feeBps > maxFeeBps) revert GenomicLicensingInvalidFee(treasury, feeBps, maxFeeBps);
        _treasury = treasury;
        _feeBps = feeBps;
        emit PlatformFeeSet(treasury, feeBps);
    }

    function _pay(address currency, address to, uint256 amount) private {
        if (currency == address(0)) Address.sendValue(payable(to), amount);
        else IERC20(currency).safeTransfer(to, amount);
    }
}
