// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title RecordRegistryV2 (test fixture)
/// @notice A storage-compatible next version of RecordRegistry, used by
/// tests/records/test_upgrade.py: every field of RecordRegistry's namespace stays where it
/// was, the new state gets a namespace of its own, and there is a new view. Never deployed
/// by the pipeline.

import {RecordRegistry} from "../RecordRegistry.sol";

/// The parents' initializers ran in the proxy's first initialize; this version only adds
/// initializeV2 (a reinitializer). Calling them again would reset state, e.g. lift a guardian's
/// pause while governance upgrades a paused registry, hence:
/// @custom:oz-upgrades-unsafe-allow missing-initializer
contract RecordRegistryV2 is RecordRegistry {
    /// @dev keccak256(abi.encode(uint256(keccak256("medchain.storage.RecordRegistryV2")) - 1))
    /// & ~bytes32(uint256(0xff))
    bytes32 private constant _V2_STORAGE_SLOT =
        0x7161cb2aa4f455256db428d0405732c3528bc03de93b01dbb97178ec56b36500;

    /// @custom:storage-location erc7201:medchain.storage.RecordRegistryV2
    struct RecordRegistryV2Storage {
        uint40 upgradedAt;
    }

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor(address didRegistry_) RecordRegistry(didRegistry_) {}

    /// @notice Run once by the upgrade (upgradeToAndCall): remembers when it happened.
    function initializeV2() external reinitializer(2) {
        _v2Storage().upgradedAt = uint40(block.timestamp);
    }

    /// @notice The implementation's version.
    function version() external pure returns (uint256) {
        return 2;
    }

    /// @notice When the proxy moved to this version (unix time).
    function upgradedAt() external view returns (uint40) {
        return _v2Storage().upgradedAt;
    }

    function _v2Storage() private pure returns (RecordRegistryV2Storage storage $) {
        assembly {
            $.slot := _V2_STORAGE_SLOT
        }
    }
}
