// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

// FeeOnTransferToken: an ERC-20 that burns 1% of every transfer, used only by tests to show
// that GenomicLicensing refuses currencies the admin has not allowlisted (escrow would be
// credited the full price while receiving 99% of it).

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

contract FeeOnTransferToken is ERC20 {
    constructor() ERC20("medchain Fee Token", "MCF") {}

    /// @notice Mints `amount` to `to` (test only: no access control by design).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) return super._update(from, to, value);
        uint256 burned = value / 100;
        super._update(from, address(0), burned);
        super._update(from, to, value - burned);
    }
}
