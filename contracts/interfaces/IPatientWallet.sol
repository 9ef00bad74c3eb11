// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IPatientWallet
/// @notice Errors and events of the one-key ERC-1271 patient wallet with two-step key
/// rotation (the new key must accept, so a typo or the zero address cannot brick it).
interface IPatientWallet {
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
}
