// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

// GenomicDataset: one ERC-721 token per encrypted genomic dataset (VCF/FASTQ/BAM), minted
// to whoever lists it. The token carries only references: the ciphertext's CID and hash and
// a public, non-identifying metadata CID (assay, reference genome, coverage). A listing needs
// the producing lab's EIP-712 authorisation (an accredited PRODUCER_ROLE holder, binding the
// lister, CIDs, hash and royalty), and each ciphertext hash is listed at most once, so nobody
// can re-list someone else's ciphertext. Owners pause, resume or retire their datasets;
// ERC-2981 royalty info names whom the lab chose to be paid.
// Emergency pause (docs/governance.md): GUARDIAN_ROLE may pause the whole contract, only the
// admin (governance) unpauses. A pause stops listing, resuming, transfers and new approvals;
// reads, an owner's own pause(id)/retire and revoking approvals stay open.

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC2981} from "@openzeppelin/contracts/token/common/ERC2981.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IGenomicDataset} from "../interfaces/IGenomicDataset.sol";

// Pausable last among the bases: its flag then shares a slot with _nextId, which list reads
// anyway, so the pause check costs a warm read there instead of a cold one.
contract GenomicDataset is ERC721, ERC2981, AccessControl, EIP712, Pausable, IGenomicDataset {
    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IGenomicDataset
    bytes32 public constant PRODUCER_ROLE = keccak256("PRODUCER_ROLE");
    /// @inheritdoc IGenomicDataset
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    /// @inheritdoc IGenomicDataset
    bytes32 public constant LISTING_TYPEHASH = keccak256(
        "DatasetListing(address lister,bytes32 ciphertextHash,uint8 dataCodec,bytes32 dataDigest,uint8 metadataCodec,bytes32 metadataDigest,address royaltyReceiver,uint96 royaltyBps,uint256 deadline)"
    );

    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev Packing: slot 0 = ciphertextHash; slot 1 = state (1) | listedAt (5) |
    /// dataCodec (1) | metadataCodec (1) | producer (20); slot 2 = data CID digest; slot 3 =
    /// metadata CID digest. CIDs are CIDv1 sha2-256, so (codec, digest) is the whole CID:
    /// 4 slots instead of 8 for two base32 strings (~88,000 gas less per listing).
    struct Dataset {
        bytes32 ciphertextHash;
        DatasetState state;
        uint40 listedAt;
        uint8 dataCodec;
        uint8 metadataCodec;
        address producer;
        bytes32 dataDigest;
        bytes32 metadataDigest;
    }

    uint8 private constant _RAW = 0x55;
    uint8 private constant _DAG_PB = 0x70;

    /// @inheritdoc IGenomicDataset
    uint96 public immutable maxRoyaltyBps;

    // uint64: packs with Pausable's flag; dataset ids are 64-bit anyway (GenomicLicensing
    // keys licences by a 64-bit dataset id).
    uint64 private _nextId = 1;
    mapping(uint256 datasetId => Dataset) private _datasets;
    mapping(bytes32 ciphertextHash => uint256 datasetId) private _listingOf;

    constructor(uint96 maxRoyaltyBps_, address admin)
        ERC721("medchain Genomic Dataset", "MCGD")
        EIP712("medchain GenomicDataset", "1")
    {
        if (maxRoyaltyBps_ > _feeDenominator()) {
            revert GenomicDatasetRoyaltyTooHigh(maxRoyaltyBps_, _feeDenominator());
        }
        maxRoyaltyBps = maxRoyaltyBps_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /*//////////////////////////////////////////////////////////////
                                EXTERNAL
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IGenomicDataset
    function list(Listing calldata listing, address lab, uint256 deadline, bytes calldata labSignature)
        external
        whenNotPaused
        returns (uint256 datasetId)
    {
        _checkCid("dataCid", listing.dataCodec, listing.dataDigest);
        _checkCid("metadataCid", listing.metadataCodec, listing.metadataDigest);
        bytes32 ciphertextHash = listing.ciphertextHash;
        if (ciphertextHash == bytes32(0)) revert GenomicDatasetZeroCiphertextHash(msg.sender);
        uint96 royaltyBps = listing.royaltyBps;
        if (royaltyBps > maxRoyaltyBps) revert GenomicDatasetRoyaltyTooHigh(royaltyBps, maxRoyaltyBps);
        if (royaltyBps != 0 && listing.royaltyReceiver == address(0)) {
            revert GenomicDatasetRoyaltyWithoutReceiver(royaltyBps);
        }
        uint256 existing = _listingOf[ciphertextHash];
        if (existing != 0) revert GenomicDatasetAlreadyListed(ciphertextHash, existing);
        _checkLab(listing, msg.sender, lab, deadline, labSignature);

        datasetId = _nextId++;
        _listingOf[ciphertextHash] = datasetId;
        _record(datasetId, listing, lab);
        // _mint, not _safeMint: the lister is msg.sender, no receiver hook is needed.
        _mint(msg.sender, datasetId);
    }

    /// @inheritdoc IGenomicDataset
    /// @dev Open while the contract is paused: the owner withdrawing a dataset from sale.
    function pause(uint256 datasetId) external {
        _transition(datasetId, DatasetState.Active, DatasetState.Paused);
    }

    /// @inheritdoc IGenomicDataset
    function resume(uint256 datasetId) external whenNotPaused {
        _transition(datasetId, DatasetState.Paused, DatasetState.Active);
    }

    /// @inheritdoc IGenomicDataset
    /// @dev Open while the contract is paused: the owner withdrawing a dataset for good.
    function retire(uint256 datasetId) external {
        Dataset storage d = _ownedDataset(datasetId);
        if (d.state == DatasetState.Retired) revert GenomicDatasetBadTransition(datasetId, d.state, DatasetState.Retired);
        d.state = DatasetState.Retired;
        emit DatasetStateChanged(datasetId, DatasetState.Retired);
    }

    /// @inheritdoc IGenomicDataset
    function pause() external onlyRole(GUARDIAN_ROLE) {
        _pause();
    }

    /// @inheritdoc IGenomicDataset
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    /// @notice ERC-721 transfer; both safeTransferFrom forms go through it.
    /// Requirements: not paused (EnforcedPause), then ERC-721's.
    function transferFrom(address from, address to, uint256 tokenId) public override whenNotPaused {
        super.transferFrom(from, to, tokenId);
    }

    /// @notice ERC-721 approval. While paused only clearing one (`to` = 0) is accepted: a
    /// revocation of access never waits for governance.
    function approve(address to, uint256 tokenId) public override {
        if (to != address(0)) _requireNotPaused();
        super.approve(to, tokenId);
    }

    /// @notice ERC-721 operator approval. While paused only revoking (`approved` false) is
    /// accepted, for the same reason as {approve}.
    function setApprovalForAll(address operator, bool approved) public override {
        if (approved) _requireNotPaused();
        super.setApprovalForAll(operator, approved);
    }

    /// @inheritdoc IGenomicDataset
    function datasetState(uint256 datasetId) external view returns (DatasetState) {
        return _datasets[datasetId].state;
    }

    /// @inheritdoc IGenomicDataset
    function ownerAndState(uint256 datasetId) external view returns (address owner, DatasetState state) {
        return (_ownerOf(datasetId), _datasets[datasetId].state);
    }

    /// @inheritdoc IGenomicDataset
    function dataset(uint256 datasetId)
        external
        view
        returns (
            string memory dataCid,
            bytes32 ciphertextHash,
            string memory metadataCid,
            DatasetState state,
            uint40 listedAt,
            address producer
        )
    {
        Dataset storage d = _requireDataset(datasetId);
        return (
            _cidText(d.dataCodec, d.dataDigest),
            d.ciphertextHash,
            _cidText(d.metadataCodec, d.metadataDigest),
            d.state,
            d.listedAt,
            d.producer
        );
    }

    /// @inheritdoc IGenomicDataset
    function datasetOfCiphertext(bytes32 ciphertextHash) external view returns (uint256) {
        return _listingOf[ciphertextHash];
    }

    /// @inheritdoc IGenomicDataset
    function listingDigest(Listing calldata listing, address lister, uint256 deadline)
        external
        view
        returns (bytes32)
    {
        return _listingDigest(listing, lister, deadline);
    }

    /// @inheritdoc IGenomicDataset
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IGenomicDataset
    function totalListed() external view returns (uint256) {
        return _nextId - 1;
    }

    /// @notice `ipfs://<metadataCid>`: the public descriptive metadata.
    /// Requirements: the dataset exists.
    function tokenURI(uint256 datasetId) public view override returns (string memory) {
        Dataset storage d = _requireDataset(datasetId);
        return string.concat("ipfs://", _cidText(d.metadataCodec, d.metadataDigest));
    }

    /// @notice ERC-165: ERC-721, ERC-721 metadata, ERC-2981 and AccessControl.
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(ERC721, ERC2981, AccessControl)
        returns (bool)
    {
        return super.supportsInterface(interfaceId);
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    function _transition(uint256 datasetId, DatasetState from, DatasetState to) private {
        Dataset storage d = _ownedDataset(datasetId);
        if (d.state != from) revert GenomicDatasetBadTransition(datasetId, d.state, to);
        d.state = to;
        emit DatasetStateChanged(datasetId, to);
    }

    /// @dev Writes the dataset (4 slots) and its royalty, then emits {DatasetListed}.
    function _record(uint256 datasetId, Listing calldata listing, address lab) private {
        _datasets[datasetId] = Dataset({
            ciphertextHash: listing.ciphertextHash,
            state: DatasetState.Active,
            listedAt: uint40(block.timestamp),
            dataCodec: listing.dataCodec,
            metadataCodec: listing.metadataCodec,
            producer: lab,
            dataDigest: listing.dataDigest,
            metadataDigest: listing.metadataDigest
        });
        if (listing.royaltyBps != 0) _setTokenRoyalty(datasetId, listing.royaltyReceiver, listing.royaltyBps);
        emit DatasetListed(
            datasetId,
            msg.sender,
            lab,
            listing.dataCodec,
            listing.dataDigest,
            listing.ciphertextHash,
            listing.metadataCodec,
            listing.metadataDigest,
            listing.royaltyReceiver,
            listing.royaltyBps
        );
    }

    /// @dev The lab is accredited and signed exactly this listing for this lister in time.
    function _checkLab(
        Listing calldata listing,
        address lister,
        address lab,
        uint256 deadline,
        bytes calldata labSignature
    ) private view {
        if (block.timestamp > deadline) revert GenomicDatasetAuthorizationExpired(deadline, block.timestamp);
        if (!hasRole(PRODUCER_ROLE, lab)) revert GenomicDatasetNotProducer(lab);
        bytes32 digest = _listingDigest(listing, lister, deadline);
        if (!SignatureChecker.isValidSignatureNow(lab, digest, labSignature)) {
            revert GenomicDatasetInvalidLabSignature(lab, digest);
        }
    }

    function _listingDigest(Listing calldata l, address lister, uint256 deadline) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    LISTING_TYPEHASH,
                    lister,
                    l.ciphertextHash,
                    l.dataCodec,
                    l.dataDigest,
                    l.metadataCodec,
                    l.metadataDigest,
                    l.royaltyReceiver,
                    l.royaltyBps,
                    deadline
                )
            )
        );
    }

    function _checkCid(bytes32 field, uint8 codec, bytes32 digest) private pure {
        if (codec != _RAW && codec != _DAG_PB) revert GenomicDatasetUnsupportedCodec(field, codec);
        if (digest == bytes32(0)) revert GenomicDatasetEmptyCid(field);
    }

    /// @dev Base32 (RFC 4648, lowercase, unpadded) multibase text of the CIDv1
    /// 0x01 | codec | 0x12 0x20 | digest: "b" + 58 characters, as `ipfs cid format` prints.
    function _cidText(uint8 codec, bytes32 digest) private pure returns (string memory) {
        bytes memory raw = abi.encodePacked(uint8(1), codec, uint8(0x12), uint8(0x20), digest);
        bytes memory alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        bytes memory out = new bytes(59);
        out[0] = "b";
        uint256 buffer = 0;
        uint256 bits = 0;
        uint256 j = 1;
        // 36 input bytes -> 288 bits -> 58 characters; the buffer keeps < 13 live bits.
        for (uint256 i = 0; i < 36; ++i) {
            buffer = ((buffer << 8) | uint8(raw[i])) & 0x1FFF;
            bits += 8;
            while (bits >= 5) {
                bits -= 5;
                out[j++] = alphabet[(buffer >> bits) & 31];
            }
        }
        out[j] = alphabet[(buffer << (5 - bits)) & 31]; // 288 = 57 * 5 + 3: 3 bits remain
        return string(out);
    }

    function _ownedDataset(uint256 datasetId) private view returns (Dataset storage d) {
        d = _requireDataset(datasetId);
        address owner = _ownerOf(datasetId);
        if (msg.sender != owner) revert GenomicDatasetNotOwner(datasetId, msg.sender, owner);
    }

    function _requireDataset(uint256 datasetId) private view returns (Dataset storage d) {
        d = _datasets[datasetId];
        if (d.state == DatasetState.None) revert GenomicDatasetNotFound(datasetId);
    }
}
