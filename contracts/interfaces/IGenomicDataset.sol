// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IGenomicDataset
/// @notice Errors, events and reads of the genomic dataset token: one ERC-721 per encrypted
/// dataset, minted to its owner, with its ciphertext CID and hash, a public descriptive
/// metadata CID, a lifecycle state and ERC-2981 royalty info for the producing lab.
/// A listing needs the producing lab's EIP-712 authorisation (a `PRODUCER_ROLE` holder)
/// and each ciphertext hash can be listed once.
interface IGenomicDataset {
    /// @notice Lifecycle of a dataset. Only `Active` datasets accept new licences;
    /// `Retired` is final.
    enum DatasetState {
        None,
        Active,
        Paused,
        Retired
    }

    /// @notice What a listing carries; the producing lab signs all of it (with the lister and a
    /// deadline) as EIP-712 `DatasetListing`. CIDs are CIDv1 sha2-256 (codec, digest) pairs.
    struct Listing {
        uint8 dataCodec;
        bytes32 dataDigest;
        bytes32 ciphertextHash;
        uint8 metadataCodec;
        bytes32 metadataDigest;
        address royaltyReceiver;
        uint96 royaltyBps;
    }

    /// @notice A CID argument (`field` = "dataCid" or "metadataCid") has a zero digest.
    error GenomicDatasetEmptyCid(bytes32 field);
    /// @notice Only CIDv1 sha2-256 with codec raw (0x55) or dag-pb (0x70) are stored.
    error GenomicDatasetUnsupportedCodec(bytes32 field, uint8 codec);
    /// @notice The ciphertext hash was zero.
    error GenomicDatasetZeroCiphertextHash(address lister);
    /// @notice The royalty exceeds the cap set at deployment.
    error GenomicDatasetRoyaltyTooHigh(uint96 royaltyBps, uint96 maxRoyaltyBps);
    /// @notice A royalty was given without a receiver.
    error GenomicDatasetRoyaltyWithoutReceiver(uint96 royaltyBps);
    /// @notice No dataset has this id.
    error GenomicDatasetNotFound(uint256 datasetId);
    /// @notice Only the token owner may change the dataset.
    error GenomicDatasetNotOwner(uint256 datasetId, address account, address owner);
    /// @notice The requested state change is not allowed from the current state.
    error GenomicDatasetBadTransition(uint256 datasetId, DatasetState from, DatasetState to);
    /// @notice This ciphertext is already listed as `datasetId`: one listing per ciphertext hash.
    error GenomicDatasetAlreadyListed(bytes32 ciphertextHash, uint256 datasetId);
    /// @notice The account named as producing lab is not an accredited producer (PRODUCER_ROLE).
    error GenomicDatasetNotProducer(address lab);
    /// @notice `signature` is not `lab`'s EIP-712 authorisation of this listing by this lister.
    error GenomicDatasetInvalidLabSignature(address lab, bytes32 digest);
    /// @notice The lab's listing authorisation expired at `deadline`.
    error GenomicDatasetAuthorizationExpired(uint256 deadline, uint256 nowTimestamp);

    /// @notice A dataset was listed (token minted to `owner`), authorised by producing `lab`.
    /// CIDs are CIDv1 sha2-256: (codec, digest) pairs; `dataset()` returns their base32 text.
    event DatasetListed(
        uint256 indexed datasetId,
        address indexed owner,
        address indexed lab,
        uint8 dataCodec,
        bytes32 dataDigest,
        bytes32 ciphertextHash,
        uint8 metadataCodec,
        bytes32 metadataDigest,
        address royaltyReceiver,
        uint96 royaltyBps
    );
    /// @notice A dataset's state changed (paused, resumed or retired).
    event DatasetStateChanged(uint256 indexed datasetId, DatasetState state);

    /// @notice The lifecycle state of `datasetId` (`None` when it does not exist).
    function datasetState(uint256 datasetId) external view returns (DatasetState);

    /// @notice The token owner of `datasetId` and its state in one call (zero owner if none).
    function ownerAndState(uint256 datasetId) external view returns (address owner, DatasetState state);
}
