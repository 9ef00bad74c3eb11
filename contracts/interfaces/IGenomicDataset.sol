// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IGenomicDataset
/// @notice External API (functions, types, errors, events) of the genomic dataset token: one
/// ERC-721 per encrypted dataset, minted to its owner, with its ciphertext CID and hash, a
/// public descriptive metadata CID, a lifecycle state and ERC-2981 royalty info for the
/// producing lab. A listing needs the producing lab's EIP-712 authorisation (a `PRODUCER_ROLE`
/// holder) and each ciphertext hash can be listed once.
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

    /// @notice Accredited sequencing labs / biobanks whose signature authorises a listing.
    function PRODUCER_ROLE() external view returns (bytes32);

    /// @notice EIP-712 type the producing lab signs to authorise one listing by one lister.
    /// No nonce: a ciphertext hash lists once, so an authorisation can be used once.
    function LISTING_TYPEHASH() external view returns (bytes32);

    /// @notice Highest royalty a lister may grant the producing lab (basis points).
    function maxRoyaltyBps() external view returns (uint96);

    /// @notice Lists an encrypted dataset: mints a new token to the caller. Each CID is given
    /// as its CIDv1 sha2-256 parts: codec (raw 0x55 or dag-pb 0x70) and digest.
    /// Requirements:
    /// - both CID digests and `ciphertextHash` are non-zero; both codecs are raw or dag-pb;
    /// - `royaltyBps` <= `maxRoyaltyBps`; a non-zero royalty needs a receiver;
    /// - the ciphertext hash has never been listed;
    /// - `lab` holds PRODUCER_ROLE and `labSignature` is its EIP-712 `DatasetListing` over
    ///   the caller, every `listing` field and `deadline` (EOA or ERC-1271), not yet expired.
    /// - the contract is not paused (OpenZeppelin `EnforcedPause`).
    /// Emits {DatasetListed} and ERC-721 {Transfer}.
    function list(
        Listing calldata listing,
        address lab,
        uint256 deadline,
        bytes calldata labSignature
    ) external returns (uint256 datasetId);

    /// @notice Pauses an active dataset: no new licences until resumed; running ones run out.
    /// Requirements: caller owns the token; the dataset is `Active`. Open during a contract
    /// pause ({pause()}): withdrawing a dataset from sale is never blocked.
    /// Emits {DatasetStateChanged}.
    function pause(uint256 datasetId) external;

    /// @notice Resumes a paused dataset.
    /// Requirements: caller owns the token; the dataset is `Paused`; the contract is not
    /// paused (OpenZeppelin `EnforcedPause`).
    /// Emits {DatasetStateChanged}.
    function resume(uint256 datasetId) external;

    /// @notice Retires a dataset for good: no new licences ever; running licences run out.
    /// Requirements: caller owns the token; the dataset is `Active` or `Paused`. Open during a
    /// contract pause.
    /// Emits {DatasetStateChanged}.
    function retire(uint256 datasetId) external;

    /// @notice The emergency guardian's role: it may call {pause()} and nothing else.
    function GUARDIAN_ROLE() external view returns (bytes32);

    /// @notice Emergency pause of the whole contract (not one dataset: see {pause(uint256)})
    /// until governance unpauses: stops {list}, {resume}, transfers and new approvals. Reads,
    /// an owner's {pause(uint256)} and {retire}, revoking approvals and role administration
    /// stay open. `paused()` (OpenZeppelin Pausable) tells whether a pause is in force.
    /// Requirements: caller has GUARDIAN_ROLE; not paused already (`EnforcedPause`).
    /// Emits {Paused}.
    function pause() external;

    /// @notice Lift an emergency pause.
    /// Requirements: caller has DEFAULT_ADMIN_ROLE (governance), never the guardian;
    /// paused (`ExpectedPause`).
    /// Emits {Unpaused}.
    function unpause() external;

    /// @notice Everything the token carries about `datasetId`, and the lab that authorised it.
    /// Requirements: the dataset exists.
    function dataset(
        uint256 datasetId
    ) external view returns ( string memory dataCid, bytes32 ciphertextHash, string memory metadataCid, DatasetState state, uint40 listedAt, address producer );

    /// @notice The dataset listing `ciphertextHash` (0 when it is not listed).
    function datasetOfCiphertext(bytes32 ciphertextHash) external view returns (uint256);

    /// @notice The EIP-712 digest `lab` signs to let `lister` list `listing` until `deadline`.
    function listingDigest(
        Listing calldata listing,
        address lister,
        uint256 deadline
    ) external view returns (bytes32);

    /// @notice The EIP-712 domain separator (chain id and this address bound in).
    function domainSeparator() external view returns (bytes32);

    /// @notice Number of datasets listed so far (ids run 1..total).
    function totalListed() external view returns (uint256);
}
