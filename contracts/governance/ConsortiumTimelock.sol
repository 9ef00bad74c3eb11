// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title ConsortiumTimelock
/// @notice OpenZeppelin's TimelockController as the admin of every medchain contract: it
/// runs what the ConsortiumGovernor passed, after `minDelay` seconds. A local contract only
/// because ape builds artifacts for contracts under contracts/.
/// @dev Deployed with no proposer or executor and `admin` (the deployer) as a temporary
/// admin; the deploy pipeline makes the governor proposer, canceller and executor, then the
/// deployer renounces, leaving the timelock administered by itself alone.
contract ConsortiumTimelock is TimelockController {
    /// @param minDelay Seconds between queueing and executing a passed proposal.
    /// @param admin Temporary admin that wires the governor, then renounces.
    constructor(uint256 minDelay, address admin)
        TimelockController(minDelay, new address[](0), new address[](0), admin)
    {}
}
