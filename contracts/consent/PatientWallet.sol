// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title PatientWallet
/// @notice A one-key ERC-1271 contract account: a patient whose identity is a contract
/// (e.g. a custodial or recoverable wallet) signs consent through its key holder. The
/// consent registry verifies such signatures with `isValidSignature`; the key can be
/// rotated by the current key holder without changing the patient's address.
contract PatientWallet is IERC1271 {
    /// @notice Only the current key holder may rotate the key.
    error PatientWalletUnauthorized(address caller, address keyHolder);

    /// @notice The signing key changed.
    event KeyRotated(address indexed previousKey, address indexed newKey);

    address private _key;

    constructor(address key) {
        _key = key;
        emit KeyRotated(address(0), key);
    }

    /// @notice Replace the signing key.
    /// Requirements: caller is the current key holder.
    /// Emits {KeyRotated}.
    function rotateKey(address newKey) external {
        address current = _key;
        if (msg.sender != current) revert PatientWalletUnauthorized(msg.sender, current);
        _key = newKey;
        emit KeyRotated(current, newKey);
    }

    /// @notice The current signing key.
    function key() external view returns (address) {
        return _key;
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
