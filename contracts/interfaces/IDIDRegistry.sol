// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IDIDRegistry
/// @notice did:ethr registry interface: the ERC-1056 functions and events unchanged (so the
/// public ethr-did-resolver and ethr-did libraries work against it), plus EIP-712 signed
/// variants and atomic batches. Errors carry the facts a caller needs (EIP-6093 style).
interface IDIDRegistry {
    // ----------------------------------------------------------------------------------
    // TYPES
    // ----------------------------------------------------------------------------------

    /// @notice One change inside a batch. `kind` selects the operation and which fields
    /// are read: 0 ChangeOwner(account = new owner); 1 AddDelegate(name = delegate type,
    /// account = delegate, validity); 2 RevokeDelegate(name, account); 3 SetAttribute(name,
    /// value, validity); 4 RevokeAttribute(name, value). Fields an operation does not read
    /// are ignored (still covered by the signature in {batchTyped}).
    struct Operation {
        uint8 kind;
        bytes32 name;
        address account;
        uint256 validity;
        bytes value;
    }

    /// @notice Authorisation for an EIP-712 signed call: who signed (an EOA or an ERC-1271
    /// contract wallet that owns the identity), the owner nonce signed over, the deadline
    /// (unix seconds, inclusive) and the signature bytes (65-byte r,s,v for an EOA).
    struct SignedAuth {
        address signer;
        uint256 nonce;
        uint256 deadline;
        bytes signature;
    }

    // ----------------------------------------------------------------------------------
    // ERRORS
    // ----------------------------------------------------------------------------------

    /// @notice `actor` tried to change `identity`, whose current owner is `owner`.
    error DIDNotOwner(address identity, address actor, address owner);

    /// @notice `identity` was deactivated (owner changed to the zero address); nothing can
    /// change it any more.
    error DIDDeactivated(address identity);

    /// @notice A legacy (0x19 0x00) signature for `identity` recovered to `recovered`,
    /// which is not the identity's owner `owner`.
    error DIDInvalidLegacySignature(address identity, address recovered, address owner);

    /// @notice An EIP-712 signature does not verify for `signer` (wrong key, other chain,
    /// other registry, or altered fields).
    error DIDInvalidSignature(address identity, address signer);

    /// @notice The signed request's deadline `deadline` is before the block time `timestamp`.
    error DIDSignatureExpired(uint256 deadline, uint256 timestamp);

    /// @notice The signed request carries nonce `given`; the owner's next nonce is `expected`.
    error DIDInvalidNonce(address owner, uint256 expected, uint256 given);

    /// @notice `validity` seconds from now does not fit in uint256.
    error DIDValidityOverflow(uint256 validity);

    /// @notice A batch for `identity` has no operations.
    error DIDEmptyBatch(address identity);

    /// @notice Operation number `index` of a batch has an unknown `kind`.
    error DIDUnknownOperation(uint256 index, uint8 kind);

    // ----------------------------------------------------------------------------------
    // EVENTS (ERC-1056, unchanged)
    // ----------------------------------------------------------------------------------

    /// @notice `identity` is now owned by `owner` (zero: deactivated); `previousChange` is
    /// the block of the identity's previous change (0 if none), the list resolvers walk.
    event DIDOwnerChanged(address indexed identity, address owner, uint256 previousChange);

    /// @notice A delegate of `delegateType` was added (validTo in the future) or revoked
    /// (validTo = block time) for `identity`.
    event DIDDelegateChanged(
        address indexed identity,
        bytes32 delegateType,
        address delegate,
        uint256 validTo,
        uint256 previousChange
    );

    /// @notice Attribute `name` = `value` was set until `validTo`, or revoked (validTo = 0).
    event DIDAttributeChanged(
        address indexed identity, bytes32 name, bytes value, uint256 validTo, uint256 previousChange
    );

    // ----------------------------------------------------------------------------------
    // EVENTS (extensions; ERC-1056 resolvers ignore them)
    // ----------------------------------------------------------------------------------

    /// @notice `owner` burned its signature nonce `nonce`: every signed change carrying it
    /// (legacy or EIP-712) can no longer be relayed.
    event NonceInvalidated(address indexed owner, uint256 nonce);

    // ----------------------------------------------------------------------------------
    // ERC-1056 FUNCTIONS
    // ----------------------------------------------------------------------------------

    function owners(address identity) external view returns (address);
    function delegates(address identity, bytes32 delegateTypeHash, address delegate)
        external
        view
        returns (uint256);
    function changed(address identity) external view returns (uint256);
    function nonce(address owner) external view returns (uint256);
    function identityOwner(address identity) external view returns (address);
    function validDelegate(address identity, bytes32 delegateType, address delegate)
        external
        view
        returns (bool);

    function changeOwner(address identity, address newOwner) external;
    function changeOwnerSigned(address identity, uint8 sigV, bytes32 sigR, bytes32 sigS, address newOwner)
        external;
    function addDelegate(address identity, bytes32 delegateType, address delegate, uint256 validity)
        external;
    function addDelegateSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 delegateType,
        address delegate,
        uint256 validity
    ) external;
    function revokeDelegate(address identity, bytes32 delegateType, address delegate) external;
    function revokeDelegateSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 delegateType,
        address delegate
    ) external;
    function setAttribute(address identity, bytes32 name, bytes calldata value, uint256 validity)
        external;
    function setAttributeSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 name,
        bytes calldata value,
        uint256 validity
    ) external;
    function revokeAttribute(address identity, bytes32 name, bytes calldata value) external;
    function revokeAttributeSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 name,
        bytes calldata value
    ) external;

    // ----------------------------------------------------------------------------------
    // EXTENSIONS: EIP-712 SIGNED CALLS AND BATCHES
    // ----------------------------------------------------------------------------------

    function nonces(address owner) external view returns (uint256);
    function invalidateNonce() external;
    function changeOwnerTyped(address identity, address newOwner, SignedAuth calldata auth) external;
    function addDelegateTyped(
        address identity,
        bytes32 delegateType,
        address delegate,
        uint256 validity,
        SignedAuth calldata auth
    ) external;
    function revokeDelegateTyped(
        address identity,
        bytes32 delegateType,
        address delegate,
        SignedAuth calldata auth
    ) external;
    function setAttributeTyped(
        address identity,
        bytes32 name,
        bytes calldata value,
        uint256 validity,
        SignedAuth calldata auth
    ) external;
    function revokeAttributeTyped(
        address identity,
        bytes32 name,
        bytes calldata value,
        SignedAuth calldata auth
    ) external;
    function batch(address identity, Operation[] calldata operations) external;
    function batchTyped(address identity, Operation[] calldata operations, SignedAuth calldata auth)
        external;
}
