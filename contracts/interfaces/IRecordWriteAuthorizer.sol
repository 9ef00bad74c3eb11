// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IRecordWriteAuthorizer
/// @notice Lets RecordRegistry ask another contract (the consent registry) whether an
/// account other than the patient may anchor a record of a given type for the patient.
/// Keeps the record store independent of how consent is modelled.
interface IRecordWriteAuthorizer {
    /// @notice True when `writer` may currently anchor records of `scope` for `patient`.
    /// @dev Must be a constant-cost view: RecordRegistry calls it on every non-patient write.
    function canWrite(address patient, address writer, bytes32 scope) external view returns (bool);
}
