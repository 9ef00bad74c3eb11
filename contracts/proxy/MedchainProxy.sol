// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title MedchainProxy
/// @notice The ERC-1967 proxy in front of medchain's upgradeable (UUPS) contracts: the
/// address frontends and dependents keep while the implementation behind it changes.
/// OpenZeppelin's ERC1967Proxy unchanged; declared here so the project compiles an artifact
/// for it (the deploy pipeline and bench/gas_proxy.py deploy it by name).

import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";

contract MedchainProxy is ERC1967Proxy {
    /// @param implementation The first implementation (must be a UUPS contract).
    /// @param data The initializer call run in the proxy's storage (e.g. `initialize(...)`).
    constructor(address implementation, bytes memory data)
        payable
        ERC1967Proxy(implementation, data)
    {}
}
