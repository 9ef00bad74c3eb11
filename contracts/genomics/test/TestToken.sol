// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

// TestToken: a plain OZ ERC-20 anyone can mint, used only by tests and gas benches to price
// licence offers in an ERC-20.

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

contract TestToken is ERC20 {
    constructor() ERC20("medchain Test Token", "MCT") {}

    /// @notice Mints `amount` to `to` (test only: no access control by design).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
