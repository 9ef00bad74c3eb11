// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

/// @title IPatientWallet
/// @notice External API (functions, errors, events) of the one-key ERC-1271 patient wallet with
/// two-step key rotation (the new key must accept, so a typo or the zero address cannot brick
/// it).
interface IPatientWallet is IERC1271 {
    /// @notice Only the current key holder may propose a new key or cancel a proposal.
    error PatientWalletUnauthorized(address caller, address keyHolder);

    /// @notice The proposed key is the zero address or the current key.
    error PatientWalletInvalidKey(address proposed);

    /// @notice `caller` is not the proposed key `pending` (zero when nothing is proposed).
    error PatientWalletNotPendingKey(address caller, address pending);

    /// @notice `key` was proposed by the current key holder `by`; it takes over on acceptance.
    event KeyRotationStarted(address indexed by, address indexed key);

    /// @notice The pending proposal of `key` was withdrawn.
    event KeyRotationCancelled(address indexed key);

    /// @notice The signing key changed.
    event KeyRotated(address indexed previousKey, address indexed newKey);

    /// @notice Propose `newKey` as the signing key; it takes over when it calls {acceptKey}.
    /// A later proposal replaces an earlier one.
    /// Requirements: caller is the current key holder; `newKey` is neither zero nor the
    /// current key.
    /// Emits {KeyRotationStarted}.
    function rotateKey(address newKey) external;

    /// @notice Withdraw the pending proposal.
    /// Requirements: caller is the current key holder; a key is pending.
    /// Emits {KeyRotationCancelled}.
    function cancelRotation() external;

    /// @notice Take over as signing key (the second step of {rotateKey}).
    /// Requirements: caller is the pending key.
    /// Emits {KeyRotated}.
    function acceptKey() external;

    /// @notice The current signing key.
    function key() external view returns (address);

    /// @notice The proposed key awaiting acceptance (zero when none).
    function pendingKey() external view returns (address);
}
