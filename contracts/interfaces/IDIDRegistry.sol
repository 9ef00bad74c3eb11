// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IDIDRegistry
/// @notice did:ethr registry interface: the ERC-1056 functions and events unchanged (so the
/// public ethr-did-resolver and ethr-did libraries work against it), plus EIP-712 signed
/// variants and atomic batches. Errors carry the facts a caller needs (EIP-6093 style).
/// Every change (direct, legacy-signed, EIP-712 signed, batch) of a successor version with
/// an {importDeadline} also requires, before that deadline, that the identity changed in
/// this version, was imported, or never changed in the predecessor ({DIDImportPending}).
interface IDIDRegistry {
    /*//////////////////////////////////////////////////////////////
                                 TYPES
    //////////////////////////////////////////////////////////////*/

    /// @notice The operations a batch can hold, as {Operation}'s `kind` numbers them (0..4).
    /// Each reads these fields of its {Operation}: ChangeOwner(account = new owner);
    /// AddDelegate(name = delegate type, account = delegate, validity); RevokeDelegate(name,
    /// account); SetAttribute(name, value, validity); RevokeAttribute(name, value).
    enum OperationKind {
        ChangeOwner,
        AddDelegate,
        RevokeDelegate,
        SetAttribute,
        RevokeAttribute
    }

    /// @notice One change inside a batch. `kind` is a uint8(OperationKind) (a plain uint8 in
    /// the ABI, so that an unknown kind reverts with {DIDUnknownOperation}). Fields an operation
    /// does not read are ignored (still covered by the signature in {batchTyped}).
    struct Operation {
        uint8 kind;
        bytes32 name;
        address account;
        uint256 validity;
        bytes value;
    }

    /// @notice Kinds of {HistoryChange}, one per ERC-1056 event: Owner (DIDOwnerChanged),
    /// Delegate (DIDDelegateChanged), Attribute (DIDAttributeChanged).
    enum ChangeKind {
        Owner,
        Delegate,
        Attribute
    }

    /// @notice One event of an identity's history in the predecessor registry, as it was
    /// emitted: `kind` a uint8(ChangeKind); `name` the delegate type or attribute name;
    /// `account` the delegate or new owner (zero for attributes); `value` the attribute
    /// value (empty otherwise); `validTo` the event's absolute expiry (unix seconds; 0 for
    /// owners and revoked attributes, the revocation time for revoked delegates).
    struct HistoryChange {
        uint8 kind;
        bytes32 name;
        address account;
        bytes value;
        uint256 validTo;
    }

    /// @notice Arguments of one {importHistory} call, for {importHistories}.
    struct HistoryImport {
        bytes32 root;
        address identity;
        uint256 fromIndex;
        HistoryChange[] changes;
        bytes32[] proof;
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

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

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

    /// @notice `account` is not the importAdmin (the governance timelock; nobody when zero).
    error DIDImportUnauthorized(address account);

    /// @notice `root` is not a history root added by the importAdmin.
    error DIDImportUnknownRoot(bytes32 root);

    /// @notice The proof does not place (identity, fromIndex, changes) under `root`.
    error DIDImportInvalidProof(bytes32 root, address identity, uint256 fromIndex);

    /// @notice `identity` has `expected` changes imported; an import must start there, not at `given`.
    error DIDImportOutOfOrder(address identity, uint256 expected, uint256 given);

    /// @notice `identity` changed natively in this version (last change at block `changed`,
    /// last import at block `importedChange`): its old history can no longer be imported.
    error DIDImportAfterNativeChange(address identity, uint256 changed, uint256 importedChange);

    /// @notice An import for `identity` carries no changes.
    error DIDImportEmpty(address identity);

    /// @notice `identity` has not changed in this version and nothing of it was imported,
    /// it did change in the predecessor, and the block time is before `deadline` (the
    /// {importDeadline}): until then only an
    /// import may write it first, because its own key may have lost control of it in the
    /// predecessor (a rotation after a compromise, a deactivation) and would otherwise take
    /// it over here and block the import for good.
    error DIDImportPending(address identity, uint256 deadline);

    /// @notice An import deadline (`deadline`) was given to a version that cannot import
    /// (zero predecessor or zero importAdmin): it would only freeze new identities.
    error DIDImportDeadlineWithoutImport(uint256 deadline);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    // ERC-1056, unchanged.

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

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    // Extensions; ERC-1056 resolvers ignore them.

    /// @notice `owner` burned its signature nonce `nonce`: every signed change carrying it
    /// (legacy or EIP-712) can no longer be relayed.
    event NonceInvalidated(address indexed owner, uint256 nonce);

    /// @notice The importAdmin accepted `root` as a commitment to predecessor histories.
    event DIDHistoryRootAdded(bytes32 indexed root);

    /// @notice The importAdmin withdrew `root`; imports already made stay.
    event DIDHistoryRootRemoved(bytes32 indexed root);

    /// @notice Changes `fromIndex` .. `fromIndex + count - 1` of `identity`'s predecessor
    /// history were replayed under `root` (their ERC-1056 events precede this one).
    event DIDHistoryImported(address indexed identity, bytes32 indexed root, uint256 fromIndex, uint256 count);

    /*//////////////////////////////////////////////////////////////
                           ERC-1056 FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice The owner recorded for `identity`; zero if it never changed owner (it owns
    /// itself) or was deactivated. Use {identityOwner} for the effective owner.
    function owners(address identity) external view returns (address);

    /// @notice Expiry (unix seconds) of `delegate` for `identity` under the delegate type
    /// whose `keccak256(abi.encode(delegateType))` is `delegateTypeHash`; 0 if never added.
    function delegates(address identity, bytes32 delegateTypeHash, address delegate)
        external
        view
        returns (uint256);

    /// @notice Block number of the last change to `identity` (0 if none): where resolvers
    /// start walking its event history.
    function changed(address identity) external view returns (uint256);

    /// @notice The next signature nonce of `owner` (ERC-1056 name; same counter as {nonces}).
    function nonce(address owner) external view returns (uint256);

    /// @notice The effective owner of `identity`: itself by default, the address it last
    /// named, or zero once deactivated.
    function identityOwner(address identity) external view returns (address);

    /// @notice Whether `delegate` is an unexpired delegate of `identity` for `delegateType`.
    /// False for every delegate of a deactivated identity: deactivation ends all authority
    /// (the canonical registry keeps answering true until each delegate expires).
    function validDelegate(address identity, bytes32 delegateType, address delegate)
        external
        view
        returns (bool);

    /// @notice Make `newOwner` the owner of `identity`; the zero address deactivates it.
    /// Requirements: caller is the identity's owner; identity not deactivated.
    /// Emits {DIDOwnerChanged}.
    function changeOwner(address identity, address newOwner) external;

    /// @notice {changeOwner} authorised by the owner's legacy ERC-1056 signature over
    /// keccak256(0x19 0x00 registry nonce identity "changeOwner" newOwner).
    /// Requirements: signature recovers to the identity's owner; consumes the owner's nonce.
    /// Emits {DIDOwnerChanged}.
    function changeOwnerSigned(address identity, uint8 sigV, bytes32 sigR, bytes32 sigS, address newOwner)
        external;

    /// @notice Add `delegate` of `delegateType` (e.g. "veriKey", "sigAuth") to `identity`
    /// for `validity` seconds from now.
    /// Requirements: caller is the identity's owner; identity not deactivated; now +
    /// validity fits in uint256.
    /// Emits {DIDDelegateChanged}.
    function addDelegate(address identity, bytes32 delegateType, address delegate, uint256 validity)
        external;

    /// @notice {addDelegate} authorised by the owner's legacy ERC-1056 signature over
    /// keccak256(0x19 0x00 registry nonce identity "addDelegate" delegateType delegate validity).
    /// Requirements: signature recovers to the identity's owner; consumes the owner's nonce.
    /// Emits {DIDDelegateChanged}.
    function addDelegateSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 delegateType,
        address delegate,
        uint256 validity
    ) external;

    /// @notice Revoke `delegate` of `delegateType` for `identity` (its expiry becomes now).
    /// Requirements: caller is the identity's owner; identity not deactivated.
    /// Emits {DIDDelegateChanged} with validTo = block time.
    function revokeDelegate(address identity, bytes32 delegateType, address delegate) external;

    /// @notice {revokeDelegate} authorised by the owner's legacy ERC-1056 signature over
    /// keccak256(0x19 0x00 registry nonce identity "revokeDelegate" delegateType delegate).
    /// Requirements: signature recovers to the identity's owner; consumes the owner's nonce.
    /// Emits {DIDDelegateChanged}.
    function revokeDelegateSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 delegateType,
        address delegate
    ) external;

    /// @notice Publish attribute `name` = `value` for `identity`, valid `validity` seconds
    /// (only an event: attributes live in the log, not in storage).
    /// Requirements: caller is the identity's owner; identity not deactivated; now +
    /// validity fits in uint256.
    /// Emits {DIDAttributeChanged}.
    function setAttribute(address identity, bytes32 name, bytes calldata value, uint256 validity)
        external;

    /// @notice {setAttribute} authorised by the owner's legacy ERC-1056 signature over
    /// keccak256(0x19 0x00 registry nonce identity "setAttribute" name value validity).
    /// Requirements: signature recovers to the identity's owner; consumes the owner's nonce.
    /// Emits {DIDAttributeChanged}.
    function setAttributeSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 name,
        bytes calldata value,
        uint256 validity
    ) external;

    /// @notice Revoke attribute `name` = `value` of `identity`.
    /// Requirements: caller is the identity's owner; identity not deactivated.
    /// Emits {DIDAttributeChanged} with validTo = 0.
    function revokeAttribute(address identity, bytes32 name, bytes calldata value) external;

    /// @notice {revokeAttribute} authorised by the owner's legacy ERC-1056 signature over
    /// keccak256(0x19 0x00 registry nonce identity "revokeAttribute" name value).
    /// Requirements: signature recovers to the identity's owner; consumes the owner's nonce.
    /// Emits {DIDAttributeChanged}.
    function revokeAttributeSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 name,
        bytes calldata value
    ) external;

    /*//////////////////////////////////////////////////////////////
              EXTENSIONS: EIP-712 SIGNED CALLS AND BATCHES
    //////////////////////////////////////////////////////////////*/

    /// @notice The next signature nonce of `owner`, shared by the legacy and EIP-712 schemes
    /// (the same counter as ERC-1056's {nonce}).
    function nonces(address owner) external view returns (uint256);

    /// @notice Cancel every signed but unsent change of the caller: consumes the caller's
    /// next nonce (shared by the legacy and EIP-712 schemes), so signatures made with it
    /// no longer verify. Signatures are bound to the signer's nonce, not to the identity's
    /// ownership history: moving an identity away and back does not void them, this does.
    /// Requirements: none (any account may burn its own nonce).
    /// Emits {NonceInvalidated}.
    function invalidateNonce() external;

    /// @notice {changeOwner} authorised by an EIP-712 `ChangeOwner` signature of the owner
    /// (`auth.signer`, an EOA or ERC-1271 wallet); anyone may relay it.
    /// Requirements: auth.signer is the owner; block time <= auth.deadline; auth.nonce is
    /// the owner's next nonce (consumed); the signature verifies for this chain and registry.
    /// Emits {DIDOwnerChanged}.
    function changeOwnerTyped(address identity, address newOwner, SignedAuth calldata auth) external;

    /// @notice {addDelegate} authorised by an EIP-712 `AddDelegate` signature of the owner.
    /// Requirements: as {changeOwnerTyped}; now + validity fits in uint256.
    /// Emits {DIDDelegateChanged}.
    function addDelegateTyped(
        address identity,
        bytes32 delegateType,
        address delegate,
        uint256 validity,
        SignedAuth calldata auth
    ) external;

    /// @notice {revokeDelegate} authorised by an EIP-712 `RevokeDelegate` signature of the owner.
    /// Requirements: as {changeOwnerTyped}.
    /// Emits {DIDDelegateChanged}.
    function revokeDelegateTyped(
        address identity,
        bytes32 delegateType,
        address delegate,
        SignedAuth calldata auth
    ) external;

    /// @notice {setAttribute} authorised by an EIP-712 `SetAttribute` signature of the owner.
    /// Requirements: as {changeOwnerTyped}; now + validity fits in uint256.
    /// Emits {DIDAttributeChanged}.
    function setAttributeTyped(
        address identity,
        bytes32 name,
        bytes calldata value,
        uint256 validity,
        SignedAuth calldata auth
    ) external;

    /// @notice {revokeAttribute} authorised by an EIP-712 `RevokeAttribute` signature of the owner.
    /// Requirements: as {changeOwnerTyped}.
    /// Emits {DIDAttributeChanged}.
    function revokeAttributeTyped(
        address identity,
        bytes32 name,
        bytes calldata value,
        SignedAuth calldata auth
    ) external;

    /// @notice Apply `operations` to `identity` in order, atomically, as if each were its
    /// own call in this block by the caller (so an owner change must come last unless the
    /// new owner is the caller). Events are those of the single calls, in order.
    /// Requirements: at least one operation; each operation's kind known; the caller owns
    /// the identity before each operation; as the single calls.
    /// Emits {DIDOwnerChanged}, {DIDDelegateChanged}, {DIDAttributeChanged} per operation.
    function batch(address identity, Operation[] calldata operations) external;

    /// @notice {batch} authorised by one EIP-712 `Batch` signature of the owner, relayed
    /// by anyone.
    /// Requirements: as {changeOwnerTyped} (checked against the owner before the batch)
    /// and as {batch} with `auth.signer` as the actor.
    /// Emits as {batch}.
    function batchTyped(address identity, Operation[] calldata operations, SignedAuth calldata auth)
        external;

    /*//////////////////////////////////////////////////////////////
               EXTENSIONS: MIGRATION FROM A PREDECESSOR
    //////////////////////////////////////////////////////////////*/

    /// @notice The registry version this one imports identities from (zero: a first version).
    function predecessor() external view returns (address);

    /// @notice Who may add history roots: the governance timelock (zero: no import possible).
    function importAdmin() external view returns (address);

    /// @notice Until this block time (unix seconds, exclusive), a native change to an
    /// identity that never changed in this version, had nothing imported and did change in
    /// the predecessor reverts with {DIDImportPending} (identities new to the chain of
    /// versions act at once); imports stay allowed before and after it. Zero: no such window
    /// (a first version).
    function importDeadline() external view returns (uint256);

    /// @notice Whether `root` is an accepted history root.
    function isHistoryRoot(bytes32 root) external view returns (bool);

    /// @notice How many predecessor changes of `identity` were imported (the next import's fromIndex).
    function importedCount(address identity) external view returns (uint256);

    /// @notice The `changed` block the last import of `identity` left (0 if none); imports
    /// continue only while `changed(identity)` still equals it.
    function importedChange(address identity) external view returns (uint256);

    /// @notice Accept `root`: an OpenZeppelin StandardMerkleTree root over leaves
    /// (address identity, uint256 fromIndex, bytes32 keccak256(abi.encode(HistoryChange[]))),
    /// each the predecessor's history of one identity from change `fromIndex` on, read from
    /// its logs up to a stated block (voters recompute it from the public logs).
    /// Requirements: caller is the importAdmin.
    /// Emits {DIDHistoryRootAdded}.
    function addHistoryRoot(bytes32 root) external;

    /// @notice Withdraw `root` (a root found wrong after the vote); imports made under it stay.
    /// Requirements: caller is the importAdmin.
    /// Emits {DIDHistoryRootRemoved}.
    function removeHistoryRoot(bytes32 root) external;

    /// @notice Replay `changes` (the predecessor's history of `identity` from change
    /// `fromIndex` on) as the native operations would have applied them: same owner,
    /// deactivation and delegate expiry writes, same events with this registry's
    /// previousChange list and the original absolute validTo. Anyone may call it.
    /// Requirements: `root` accepted; the proof places the leaf under it; `fromIndex` is
    /// {importedCount}; at least one change, each of a known kind; the identity has not
    /// changed natively here (`changed` == {importedChange}; a native change in the same
    /// block as the last import is not detectable on chain).
    /// Emits the ERC-1056 event of each change, then {DIDHistoryImported}.
    function importHistory(
        bytes32 root,
        address identity,
        uint256 fromIndex,
        HistoryChange[] calldata changes,
        bytes32[] calldata proof
    ) external;

    /// @notice {importHistory} for several identities in one transaction (all or nothing).
    /// Requirements: as {importHistory} for each entry.
    /// Emits as {importHistory} for each entry.
    function importHistories(HistoryImport[] calldata imports) external;
}
