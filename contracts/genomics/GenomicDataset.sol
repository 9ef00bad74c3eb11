// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

// GenomicDataset: one ERC-721 token per encrypted genomic dataset (VCF/FASTQ/BAM), minted
// to whoever lists it. The token carries only references: the ciphertext's CID and hash and
// a public, non-identifying metadata CID (assay, reference genome, coverage). Owners pause,
// resume or retire their datasets; ERC-2981 royalty info names the lab that produced the data.

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC2981} from "@openzeppelin/contracts/token/common/ERC2981.sol";
import {IGenomicDataset} from "../interfaces/IGenomicDataset.sol";

contract GenomicDataset is ERC721, ERC2981, IGenomicDataset {
    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev Packing: slot 0 = ciphertextHash (32 bytes); slot 1 = state (1 byte) |
    /// listedAt (5 bytes); then the two CID strings (length slot + data each).
    struct Dataset {
        bytes32 ciphertextHash;
        DatasetState state;
        uint40 listedAt;
        string dataCid;
        string metadataCid;
    }

    /// @notice Highest royalty a lister may grant the producing lab (basis points).
    uint96 public immutable maxRoyaltyBps;

    uint256 private _nextId = 1;
    mapping(uint256 datasetId => Dataset) private _datasets;

    constructor(uint96 maxRoyaltyBps_) ERC721("medchain Genomic Dataset", "MCGD") {
        if (maxRoyaltyBps_ > _feeDenominator()) {
            revert GenomicDatasetRoyaltyTooHigh(maxRoyaltyBps_, _feeDenominator());
        }
        maxRoyaltyBps = maxRoyaltyBps_;
    }

    /*//////////////////////////////////////////////////////////////
                                EXTERNAL
    //////////////////////////////////////////////////////////////*/

    /// @notice Lists an encrypted dataset: mints a new token to the caller.
    /// Requirements:
    /// - `dataCid` and `metadataCid` are non-empty, `ciphertextHash` is non-zero;
    /// - `royaltyBps` <= `maxRoyaltyBps`; a non-zero royalty needs a receiver.
    /// Emits {DatasetListed} and ERC-721 {Transfer}.
    function list(
        string calldata dataCid,
        bytes32 ciphertextHash,
        string calldata metadataCid,
        address royaltyReceiver,
        uint96 royaltyBps
    ) external returns (uint256 datasetId) {
        if (bytes(dataCid).length == 0) revert GenomicDatasetEmptyCid("dataCid");
        if (bytes(metadataCid).length == 0) revert GenomicDatasetEmptyCid("metadataCid");
        if (ciphertextHash == bytes32(0)) revert GenomicDatasetZeroCiphertextHash(msg.sender);
        if (royaltyBps > maxRoyaltyBps) revert GenomicDatasetRoyaltyTooHigh(royaltyBps, maxRoyaltyBps);
        if (royaltyBps != 0 && royaltyReceiver == address(0)) {
            revert GenomicDatasetRoyaltyWithoutReceiver(royaltyBps);
        }
        datasetId = _nextId++;
        Dataset storage d = _datasets[datasetId];
        d.ciphertextHash = ciphertextHash;
        d.state = DatasetState.Active;
        d.listedAt = uint40(block.timestamp);
        d.dataCid = dataCid;
        d.metadataCid = metadataCid;
        if (royaltyBps != 0) _setTokenRoyalty(datasetId, royaltyReceiver, royaltyBps);
        emit DatasetListed(datasetId, msg.sender, dataCid, ciphertextHash, metadataCid, royaltyReceiver, royaltyBps);
        // _mint, not _safeMint: the lister is msg.sender, no receiver hook is needed.
        _mint(msg.sender, datasetId);
    }

    /// @notice Pauses an active dataset: no new licences until resumed; running ones run out.
    /// Requirements: caller owns the token; the dataset is `Active`.
    /// Emits {DatasetStateChanged}.
    function pause(uint256 datasetId) external {
        _transition(datasetId, DatasetState.Active, DatasetState.Paused);
    }

    /// @notice Resumes a paused dataset.
    /// Requirements: caller owns the token; the dataset is `Paused`.
    /// Emits {DatasetStateChanged}.
    function resume(uint256 datasetId) external {
        _transition(datasetId, DatasetState.Paused, DatasetState.Active);
    }

    /// @notice Retires a dataset for good: no new licences ever; running licences run out.
    /// Requirements: caller owns the token; the dataset is `Active` or `Paused`.
    /// Emits {DatasetStateChanged}.
    function retire(uint256 datasetId) external {
        Dataset storage d = _ownedDataset(datasetId);
        if (d.state == DatasetState.Retired) revert GenomicDatasetBadTransition(datasetId, d.state, DatasetState.Retired);
        d.state = DatasetState.Retired;
        emit DatasetStateChanged(datasetId, DatasetState.Retired);
    }

    /// @inheritdoc IGenomicDataset
    function datasetState(uint256 datasetId) external view returns (DatasetState) {
        return _datasets[datasetId].state;
    }

    /// @inheritdoc IGenomicDataset
    function ownerAndState(uint256 datasetId) external view returns (address owner, DatasetState state) {
        return (_ownerOf(datasetId), _datasets[datasetId].state);
    }

    /// @notice Everything the token carries about `datasetId`.
    /// Requirements: the dataset exists.
    function dataset(uint256 datasetId)
        external
        view
        returns (string memory dataCid, bytes32 ciphertextHash, string memory metadataCid, DatasetState state, uint40 listedAt)
    {
        Dataset storage d = _requireDataset(datasetId);
        return (d.dataCid, d.ciphertextHash, d.metadataCid, d.state, d.listedAt);
    }

    /// @notice Number of datasets listed so far (ids run 1..total).
    function totalListed() external view returns (uint256) {
        return _nextId - 1;
    }

    /// @notice `ipfs://<metadataCid>`: the public descriptive metadata.
    /// Requirements: the dataset exists.
    function tokenURI(uint256 datasetId) public view override returns (string memory) {
        return string.concat("ipfs://", _requireDataset(datasetId).metadataCid);
    }

    /// @notice ERC-165: ERC-721, ERC-721 metadata and ERC-2981.
    function supportsInterface(bytes4 interfaceId) public view override(ERC721, ERC2981) returns (bool) {
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
