// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

// ReentrantWithdrawer: a hostile dataset owner / researcher used by tests. When it receives
// ETH from GenomicLicensing it calls back into withdraw (or refund) to try to be paid twice.

import {IERC721Receiver} from "@openzeppelin/contracts/token/ERC721/IERC721Receiver.sol";

import {IGenomicDataset} from "../../interfaces/IGenomicDataset.sol";
import {IGenomicLicensing} from "../../interfaces/IGenomicLicensing.sol";

contract ReentrantWithdrawer {
    IGenomicLicensing public immutable market;
    uint256 public reentryAttempts;
    uint256 public lastWithdrawn;
    bool public reentrySucceeded;
    uint8 private _mode; // 1 = re-enter withdraw, 2 = re-enter refund
    uint256 private _licenceId;

    constructor(IGenomicLicensing market_) {
        market = market_;
    }

    /// @dev Lists as its own producing lab (the test grants it PRODUCER_ROLE; its ERC-1271
    /// check below accepts any signature).
    function listDataset(IGenomicDataset token) external returns (uint256) {
        IGenomicDataset.Listing memory listing = IGenomicDataset.Listing(
            0x55, keccak256("attack"), keccak256("attack"), 0x55, keccak256("meta"), address(0), 0
        );
        return token.list(listing, address(this), type(uint256).max, "");
    }

    function createOffer(uint256 datasetId, uint96 price) external returns (uint256) {
        return market.createOffer(datasetId, address(0), price, 30 days, 1 days, 1 days, 0x2, 10, bytes32(0));
    }

    function deliver(uint256 licenceId) external {
        market.deliverKey(licenceId, "bafyenvelope", keccak256("envelope"));
    }

    /// @dev ERC-1271: accept any signature, so this contract can buy as a "researcher".
    function isValidSignature(bytes32, bytes calldata) external pure returns (bytes4) {
        return 0x1626ba7e;
    }

    function buy(uint256 offerId) external payable returns (uint256 licenceId) {
        licenceId = market.purchase{value: msg.value}(offerId, 0x2, type(uint256).max, "");
        _licenceId = licenceId;
    }

    function attackWithdraw() external {
        _mode = 1;
        lastWithdrawn = market.withdraw(address(0));
        _mode = 0;
    }

    function attackRefund() external {
        _mode = 2;
        market.refund(_licenceId);
        _mode = 0;
    }

    function onERC721Received(address, address, uint256, bytes calldata) external pure returns (bytes4) {
        return IERC721Receiver.onERC721Received.selector;
    }

    receive() external payable {
        if (_mode == 0) return;
        reentryAttempts += 1;
        // Re-enter; swallow the revert so the outer call's outcome shows whether a second
        // payment happened (it must not).
        bool ok;
        if (_mode == 1) {
            (ok,) = address(market).call(abi.encodeCall(IGenomicLicensing.withdraw, (address(0))));
        } else {
            (ok,) = address(market).call(abi.encodeCall(IGenomicLicensing.refund, (_licenceId)));
        }
        if (ok) reentrySucceeded = true;
    }
}
