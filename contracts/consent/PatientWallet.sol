// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

import {IPatientWallet} from "../interfaces/IPatientWallet.sol";

/// @title PatientWallet
/// @notice A one-key ERC-1271 contract account: a patient whose identity is a contract
/// (e.g. a custodial or recoverable wallet) signs consent through its key holder. The
/// consent registry verifies such signatures with `isValidSignature`. The key rotates in
/// two steps (propose by the current key, accept by the new one, as OZ Ownable2Step), so
/// a rotation can never hand the wallet to the zero address or a key nobody holds.
contract PatientWallet is IPatientWallet {
    /// @dev Slot 0: the signing key; slot 1: the proposed key (zero when none).
    address private _key;
    address private _pendingKey;

    /// @param initialKey The first signing key (non-zero).
    constructor(address initialKey) {
        if (initialKey == address(0)) revert PatientWalletInvalidKey(initialKey);
        _key = initialKey;
        emit KeyRotated(address(0), initialKey);
    }

    /// @inheritdoc IPatientWallet
    function rotateKey(address newKey) external {
        address current = _key;
        if (msg.sender != current) revert PatientWalletUnauthorized(msg.sender, current);
        if (newKey == address(0) || newKey == current) revert PatientWalletInvalidKey(newKey);
        _pendingKey = newKey;
        emit KeyRotationStarted(current, newKey);
    }

    /// @inheritdoc IPatientWallet
    function cancelRotation() external {
        address current = _key;
        if (msg.sender != current) revert PatientWalletUnauthorized(msg.sender, current);
        address pending = _pendingKey;
        if (pending == address(0)) revert PatientWalletNotPendingKey(msg.sender, pending);
        delete _pendingKey;
        emit KeyRotationCancelled(pending);
    }

    /// @inheritdoc IPatientWallet
    function acceptKey() external {
        address pending = _pendingKey;
        if (msg.sender != pending || pending == address(0)) {
            revert PatientWalletNotPendingKey(msg.sender, pending);
        }
        address previous = _key;
        _key = pending;
        delete _pendingKey;
        emit KeyRotated(previous, pending);
    }

    /// @inheritdoc IPatientWallet
    function key() external view returns (address) {
        return _key;
    }

    /// @inheritdoc IPatientWallet
    function pendingKey() external view returns (address) {
        return _pendingKey;
    }

    /// @notice ERC-1271: valid when `signature` is the key holder's ECDSA signature of `hash`.
    function isValidSignature(bytes32 hash, bytes calldata signature)
        external
        view
        returns (bytes4)
    {
        (address recovered, ECDSA.RecoverError err, bytes32 errArg) =
            ECDSA.tryRecover(hash, signature);
        // errArg is zero whenever err is NoError; checked so no return value goes unread.
        return err == ECDSA.RecoverError.NoError && errArg == bytes32(0) && recovered == _key
            ? IERC1271.isValidSignature.selector
            : bytes4(0xffffffff);
    }
}
