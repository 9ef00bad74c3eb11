// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title RecordRegistryBadLayout (test fixture)
/// @notice What a careless next version of RecordRegistry would look like: a field inserted
/// in the middle of its namespace, which would move every later mapping (records would read
/// back as never superseded, never shared, never erased). The layout check must refuse it
/// before any transaction; it is never deployed.

import {AccessControlUpgradeable} from
    "@openzeppelin/contracts-upgradeable/access/AccessControlUpgradeable.sol";
import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {PausableUpgradeable} from "@openzeppelin/contracts-upgradeable/utils/PausableUpgradeable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {IRecordWriteAuthorizer} from "../../interfaces/IRecordWriteAuthorizer.sol";
import {RecordRegistry} from "../RecordRegistry.sol";

/// A layout-only fixture, never deployed nor initialized; the only finding must be the layout:
/// @custom:oz-upgrades-unsafe-allow missing-initializer
contract RecordRegistryBadLayout is
    Initializable,
    AccessControlUpgradeable,
    PausableUpgradeable,
    UUPSUpgradeable
{
    /// @custom:storage-location erc7201:medchain.storage.RecordRegistry
    struct RecordRegistryStorage {
        IRecordWriteAuthorizer writeAuthorizer;
        mapping(bytes32 recordId => RecordRegistry.Record) records;
        uint256 recordCount; // the insertion: every mapping below moves down one slot
        mapping(bytes32 recordId => bytes32 newer) supersededBy;
        mapping(bytes32 recordId => mapping(address recipient => bytes32 digest)) envelopes;
        mapping(bytes32 recordId => uint40 timestamp) erasedAt;
    }

    function _authorizeUpgrade(address) internal override onlyRole(DEFAULT_ADMIN_ROLE) {}
}
