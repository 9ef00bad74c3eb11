// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title ISerialRegistry
/// @notice External API (functions, types, errors, events) of the pharmaceutical serial
/// registry (DSCSA / GS1): trading partners, Merkle-committed lots, shipments of lots and SSCC
/// aggregations, per-unit exceptions (dispensed, returned, stolen, suspect, illegitimate),
/// recalls and product-identifier verification. Events carry EPCIS 2.0 codes (event type,
/// bizStep, disposition) so they map onto existing traceability systems.
interface ISerialRegistry {
    /// @dev One slot: identity (20) | role (1) | prefixLength (1) | companyPrefix (8) | active (1).
    struct Partner {
        address identity;
        Role role;
        uint8 prefixLength;
        uint64 companyPrefix;
        bool active;
    }

    /// @dev A lot or an SSCC aggregation. Slot 0: root. Slot 1: custodian (20) | count (4,
    /// units held directly: packing an aggregation moves its count out) | expiry YYMMDD (3,
    /// lots only) | flags (1) | childDepth (1, depth of its aggregations' nodes once opened).
    /// An aggregation's lot lives in `_lotOf`, so commissioning writes exactly these two slots.
    struct Container {
        bytes32 root;
        address custodian;
        uint32 count;
        uint24 expiry;
        uint8 flags;
        uint8 childDepth;
    }

    /// @dev One slot: custodian (20) | status (1). Only units off the normal path have one;
    /// a non-zero custodian means the unit is held through this record, not a container.
    struct Unit {
        address custodian;
        UnitStatus status;
    }

    /// @notice Trading-partner roles under DSCSA.
    enum Role {
        None,
        Manufacturer,
        Repackager,
        Wholesaler,
        Dispenser
    }

    /// @notice Per-unit status; `Active` means "no exception recorded" (the default).
    enum UnitStatus {
        Active,
        Dispensed,
        Decommissioned,
        Returned,
        Stolen,
        Suspect,
        Illegitimate,
        ReturnPending
    }

    /// @notice Answer to a product-identifier verification (the VRS questions).
    enum Outcome {
        Genuine,
        UnknownSerial,
        LotExpiryMismatch,
        AlreadyDispensed,
        Recalled,
        Suspect,
        Expired,
        Illegitimate,
        Stolen,
        Decommissioned
    }

    /// @notice EPCIS 2.0 event types.
    enum EventType {
        Object,
        Aggregation,
        Transaction,
        Transformation,
        Association
    }

    /// @notice EPCIS / CBV business steps used here.
    enum BizStep {
        Commissioning,
        Packing,
        Shipping,
        Receiving,
        VoidShipping,
        Inspecting,
        Dispensing,
        Decommissioning,
        Returning,
        Recalling,
        Holding
    }

    /// @notice EPCIS / CBV dispositions used here (`Suspect`, `Illegitimate` are DSCSA extensions).
    enum Disposition {
        Active,
        InProgress,
        InTransit,
        Dispensed,
        Destroyed,
        Returned,
        Recalled,
        Stolen,
        Suspect,
        Illegitimate,
        Expired
    }

    /// @notice A GS1 product identifier (DSCSA): GTIN-14 as a number, serial (AI 21) and
    /// lot (AI 10) as their ASCII bytes left-aligned and zero-padded to 20 bytes (both are
    /// at most 20 characters), expiry (AI 17) as the number YYMMDD.
    struct ProductId {
        uint64 gtin;
        bytes20 serial;
        bytes20 lot;
        uint24 expiry;
    }

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice `account` is not an active trading partner.
    error SerialRegistryNotPartner(address account);

    /// @notice `account` has `role`, but the operation needs another role.
    error SerialRegistryWrongRole(address account, Role role);

    /// @notice `role` cannot be registered (None).
    error SerialRegistryInvalidRole(Role role);

    /// @notice The DID `identity` is not controlled by `account` (ERC-1056 identityOwner).
    error SerialRegistryNotIdentityOwner(address identity, address owner, address account);

    /// @notice A GS1 company prefix has 4-12 digits; manufacturers and repackagers need one
    /// (others may register one to pack SSCCs).
    error SerialRegistryInvalidCompanyPrefix(uint64 companyPrefix, uint8 prefixLength);

    /// @notice `gtin` is not a valid GTIN-14 (range or check digit).
    error SerialRegistryInvalidGtin(uint64 gtin);

    /// @notice `gtin` does not carry the company prefix of `account`.
    error SerialRegistryGtinNotOwned(uint64 gtin, address account);

    /// @notice `expiry` is not a valid YYMMDD date.
    error SerialRegistryInvalidExpiry(uint24 expiry);

    /// @notice The lot is empty, has a zero root, or a zero lot number.
    error SerialRegistryInvalidLot(bytes32 lotId, uint32 count);

    /// @notice A lot or aggregation with this id already exists.
    error SerialRegistryContainerExists(bytes32 containerId);

    /// @notice No lot or aggregation with this id.
    error SerialRegistryUnknownContainer(bytes32 containerId);

    /// @notice `account` is not the custodian (`custodian`) of the container.
    error SerialRegistryNotCustodian(bytes32 containerId, address account, address custodian);

    /// @notice The container has a shipment pending to `to`.
    error SerialRegistryShipmentPending(bytes32 containerId, address to);

    /// @notice The container has no shipment pending.
    error SerialRegistryNoShipmentPending(bytes32 containerId);

    /// @notice `account` is neither the receiver nor the sender of the pending shipment.
    error SerialRegistryNotReceiver(bytes32 containerId, address account, address receiver);

    /// @notice The container was broken down into aggregations; its units are held through them.
    error SerialRegistryContainerOpened(bytes32 containerId);

    /// @notice The container belongs to lot `actualLot`, not to the unit's lot `unitLot`.
    error SerialRegistryContainerLotMismatch(bytes32 containerId, bytes32 unitLot, bytes32 actualLot);

    /// @notice Shipping to yourself.
    error SerialRegistrySelfShipment(bytes32 containerId, address account);

    /// @notice Recalled product may only be shipped back to a manufacturer or repackager.
    error SerialRegistryRecalledShipment(bytes32 lotId, address to);

    /// @notice The product identifier failed verification with `outcome`.
    error SerialRegistryNotVerified(bytes32 unitId, Outcome outcome);

    /// @notice The unit's status `status` does not allow the operation.
    error SerialRegistryUnitStatus(bytes32 unitId, UnitStatus status);

    /// @notice `status` cannot be set through this operation.
    error SerialRegistryInvalidStatus(UnitStatus status);

    /// @notice The lot is already recalled.
    error SerialRegistryAlreadyRecalled(bytes32 lotId);

    /// @notice An aggregation's SSCC is malformed, its root zero, or its count zero or above
    /// the units its parent still holds directly.
    error SerialRegistryInvalidAggregation(uint64 sscc, uint32 count);

    /// @notice `sscc` does not carry the GS1 company prefix of `account` (or it has none).
    error SerialRegistrySsccNotOwned(uint64 sscc, address account);

    /// @notice `root` is not a node of `parent`'s Merkle tree (its node proof does not lead
    /// to the parent's root): an aggregation may only hold units of its parent.
    error SerialRegistryNotInParent(bytes32 parent, bytes32 root);

    /// @notice The parent's aggregations are nodes `expected` hashes below its root; this one
    /// is `depth` below (equal depths keep sibling aggregations disjoint).
    error SerialRegistryChildDepth(bytes32 parent, uint256 depth, uint8 expected);

    /// @notice The node `root` of `parent` is already packed, as aggregation `aggregation`.
    error SerialRegistryNodePacked(bytes32 parent, bytes32 root, bytes32 aggregation);

    /// @notice The unit was packed out of `container` into `aggregation`; it is held through that.
    error SerialRegistryUnitInAggregation(bytes32 unitId, bytes32 container, bytes32 aggregation);

    /// @notice The unit has a return pending to `to` (in transit: nobody may act on it as holder).
    error SerialRegistryReturnPending(bytes32 unitId, address to);

    /// @notice The unit has no return pending.
    error SerialRegistryNoReturnPending(bytes32 unitId);

    /// @notice `account` is neither the receiver `receiver` nor the sender `holder` of the pending return.
    error SerialRegistryNotReturnParty(bytes32 unitId, address account, address holder, address receiver);

    /// @notice An authority role (REGISTRAR, REGULATOR) was given to address(0) at deploy.
    error SerialRegistryZeroAccount(bytes32 role);

    /// @notice `account` already holds `held`, so it cannot be granted `granted`: the default
    /// admin, registrar, regulator and guardian are four different accounts (a registrar that
    /// is also regulator could onboard a partner and clear its flagged units; a guardian that
    /// is also admin could unpause its own pause). Revoke `held` first.
    error SerialRegistryRoleConflict(address account, bytes32 held, bytes32 granted);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice A trading partner was registered or updated.
    event PartnerRegistered(
        address indexed account, address indexed identity, Role role, uint64 companyPrefix, uint8 prefixLength
    );

    /// @notice A trading partner was deactivated.
    event PartnerDeactivated(address indexed account);

    /// @notice A lot was commissioned (EPCIS ObjectEvent ADD, commissioning, active).
    event LotCommissioned(
        bytes32 indexed lotId,
        address indexed manufacturer,
        uint64 gtin,
        bytes20 lot,
        uint24 expiry,
        uint32 count,
        bytes32 root,
        string manifestCid,
        EventType eventType,
        BizStep bizStep,
        Disposition disposition
    );

    /// @notice Units of `parent` (of lot `lotId`) were packed under SSCC `sscc`: `root` is the
    /// node `depth` hashes below the parent's root (EPCIS AggregationEvent, packing).
    event Aggregated(
        bytes32 indexed containerId,
        bytes32 indexed parent,
        address indexed packer,
        bytes32 lotId,
        uint64 sscc,
        bytes32 root,
        uint32 count,
        uint8 depth,
        EventType eventType,
        BizStep bizStep,
        Disposition disposition
    );

    /// @notice A lot or aggregation was shipped (EPCIS ObjectEvent, shipping, in_transit).
    event Shipped(
        bytes32 indexed containerId,
        address indexed from,
        address indexed to,
        EventType eventType,
        BizStep bizStep,
        Disposition disposition
    );

    /// @notice A shipment was received; `to` is now the custodian (receiving, in_progress).
    event Received(
        bytes32 indexed containerId,
        address indexed from,
        address indexed to,
        EventType eventType,
        BizStep bizStep,
        Disposition disposition
    );

    /// @notice A pending shipment was cancelled or refused (void_shipping).
    event ShipmentCancelled(
        bytes32 indexed containerId,
        address indexed from,
        address indexed to,
        EventType eventType,
        BizStep bizStep,
        Disposition disposition
    );

    /// @notice A unit left the normal path (dispensed, returned, stolen, suspect, ...).
    event UnitStatusChanged(
        bytes32 indexed unitId,
        bytes32 indexed lotId,
        address indexed actor,
        UnitStatus previous,
        UnitStatus status,
        EventType eventType,
        BizStep bizStep,
        Disposition disposition
    );

    /// @notice The holder `from` sent a unit back to `to` (returning, in_transit); custody moves
    /// when `to` accepts it.
    event ReturnInitiated(
        bytes32 indexed unitId,
        bytes32 indexed lotId,
        address indexed from,
        address to,
        EventType eventType,
        BizStep bizStep,
        Disposition disposition
    );

    /// @notice A pending return was cancelled (sender) or refused (receiver); the sender keeps
    /// the unit (void_shipping).
    event ReturnCancelled(
        bytes32 indexed unitId,
        bytes32 indexed lotId,
        address indexed from,
        address to,
        EventType eventType,
        BizStep bizStep,
        Disposition disposition
    );

    /// @notice A lot was recalled (recalling, recalled).
    event LotRecalled(
        bytes32 indexed lotId, address indexed actor, EventType eventType, BizStep bizStep, Disposition disposition
    );

    /// @notice A verification was requested and answered (inspecting).
    event ProductVerified(
        bytes32 indexed unitId, address indexed requester, bytes32 lotId, Outcome outcome, EventType eventType, BizStep bizStep
    );

    /*//////////////////////////////////////////////////////////////
                               FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Registers and deactivates trading partners.
    function REGISTRAR_ROLE() external view returns (bytes32);

    /// @notice Regulator (e.g. FDA): recalls any lot, confirms or clears suspect units, verifies.
    /// Never held by the registrar's, the admin's or the guardian's account.
    function REGULATOR_ROLE() external view returns (bytes32);

    /// @notice Emergency guardian: may {pause} and nothing else (not unpause, not grant).
    function GUARDIAN_ROLE() external view returns (bytes32);

    /// @notice Pauses the normal flow of goods: registerPartner, commission, aggregate, ship,
    /// receiveShipment, dispense, initiateReturn, acceptReturn, decommission, and a regulator's
    /// resolveUnit to Active or Returned revert with `EnforcedPause()`. Views, verifyAndLog,
    /// reportUnit, recall, deactivatePartner, cancelShipment, cancelReturn, quarantining
    /// resolutions and role administration stay available.
    /// Requirements: caller has GUARDIAN_ROLE; not paused (`EnforcedPause()`).
    /// Emits {Pausable-Paused}.
    function pause() external;

    /// @notice Ends a pause.
    /// Requirements: caller is the default admin (governance); paused (`ExpectedPause()`).
    /// Emits {Pausable-Unpaused}.
    function unpause() external;

    /// @notice Registers (or updates) a trading partner, linked to its did:ethr identity.
    /// Requirements:
    /// - caller has REGISTRAR_ROLE;
    /// - `role` is not None; `account` controls `identity` in the DID registry;
    /// - manufacturers and repackagers carry a 4-12 digit GS1 company prefix; wholesalers and
    ///   dispensers may (it is what lets them pack SSCCs), else prefix and length are zero.
    /// Emits {PartnerRegistered}.
    function registerPartner(
        address account,
        address identity,
        Role role,
        uint64 companyPrefix,
        uint8 prefixLength
    ) external;

    /// @notice Deactivates a trading partner; it can no longer act (custody it holds stays).
    /// Requirements: caller has REGISTRAR_ROLE; `account` is an active partner.
    /// Emits {PartnerDeactivated}.
    function deactivatePartner(address account) external;

    /// @notice Commissions a lot: `count` units committed by the Merkle `root` of their leaves;
    /// the caller becomes the custodian. Gas does not depend on `count`.
    /// Requirements:
    /// - caller is an active manufacturer or repackager; `gtin` is a valid GTIN-14 carrying
    ///   the caller's company prefix; `expiry` is a valid YYMMDD;
    /// - `lot` and `root` are non-zero, `count` > 0, and the lot is new.
    /// Emits {LotCommissioned}.
    function commission(
        uint64 gtin,
        bytes20 lot,
        uint24 expiry,
        uint32 count,
        bytes32 root,
        string calldata manifestCid
    ) external returns (bytes32 lotId);

    /// @notice Packs the units under one node of `parent`'s Merkle tree (a lot or aggregation
    /// you hold) into SSCC `sscc`: `root` is that node, proven by `nodeProof` (its siblings up
    /// to the parent's root; empty packs the whole parent). The parent's first aggregation fixes
    /// the depth (`nodeProof.length`) of all its aggregations, and a node is packed once, so
    /// sibling aggregations never share a unit. Units under a packed node are held through the
    /// aggregation; the parent keeps the others, and once opened it can no longer be shipped.
    /// Requirements:
    /// - caller is an active partner and the custodian of `parent`, with no shipment pending;
    /// - `sscc` is a valid, unused 18-digit SSCC carrying the caller's GS1 company prefix;
    /// - `root` is a node of the parent's tree at the parent's aggregation depth, not yet packed;
    /// - 0 < `count` <= the units the parent still holds directly (its count, which drops by `count`).
    /// Emits {Aggregated}.
    function aggregate(
        uint64 sscc,
        bytes32 parent,
        bytes32 root,
        uint32 count,
        bytes32[] calldata nodeProof
    ) external returns (bytes32 containerId);

    /// @notice Ships a lot or aggregation to `to`; custody moves when `to` receives it.
    /// Requirements:
    /// - caller is an active partner holding `containerId`, with no shipment pending;
    /// - the container was never opened (packed into aggregations): ship the aggregations;
    /// - `to` is another active partner; recalled product goes only to a manufacturer or repackager.
    /// Emits {Shipped}.
    function ship(bytes32 containerId, address to) external;

    /// @notice Acknowledges receipt of a shipment; the caller becomes the custodian.
    /// Requirements: caller is an active partner and the pending shipment's receiver.
    /// Emits {Received}.
    function receiveShipment(bytes32 containerId) external;

    /// @notice Cancels (sender) or refuses (receiver) a pending shipment; custody stays.
    /// Requirements: caller is the pending shipment's sender or receiver.
    /// Emits {ShipmentCancelled}.
    function cancelShipment(bytes32 containerId) external;

    /// @notice Dispenses a unit to a patient. A unit already dispensed is a clone: it is
    /// recorded as suspect (no revert) and `AlreadyDispensed` is returned.
    /// Requirements:
    /// - caller is an active dispenser; the identifier verifies as Genuine (or AlreadyDispensed);
    /// - caller holds the unit: through `container` (the lot, or an aggregation proven by
    ///   `containerProof`) or the unit's own record.
    /// Emits {UnitStatusChanged} (dispensing/dispensed, or inspecting/suspect for a clone).
    function dispense(
        ProductId calldata pid,
        bytes32[] calldata proof,
        bytes32 container,
        bytes32[] calldata containerProof
    ) external returns (Outcome outcome);

    /// @notice Sends a saleable unit you hold back to `to` (first step of a return); the unit
    /// leaves its container and is in transit until `to` accepts it or either side cancels.
    /// Requirements:
    /// - caller is an active partner holding the unit (through `container`/`containerProof`,
    ///   as for {dispense}, or its own record), with no return already pending;
    /// - the identifier verifies as Genuine; `to` is another active, non-dispenser partner.
    /// Emits {ReturnInitiated}.
    function initiateReturn(
        ProductId calldata pid,
        bytes32[] calldata proof,
        bytes32 container,
        bytes32[] calldata containerProof,
        address to
    ) external;

    /// @notice Accepts a unit returned to you (second step): you become its custodian and it
    /// is recorded as a saleable return.
    /// Requirements: caller is an active partner and the pending return's receiver; the
    /// identifier is in its lot.
    /// Emits {UnitStatusChanged} (returning/returned).
    function acceptReturn(ProductId calldata pid, bytes32[] calldata proof) external;

    /// @notice Cancels (sender) or refuses (receiver) a pending return; the sender keeps the unit
    /// through its own record.
    /// Requirements: caller is the pending return's sender or receiver; the identifier is in its lot.
    /// Emits {ReturnCancelled}.
    function cancelReturn(ProductId calldata pid, bytes32[] calldata proof) external;

    /// @notice Decommissions (destroys, samples) a unit the caller holds.
    /// Requirements: caller is an active partner holding the unit; the identifier is in its lot
    /// and the unit is not already dispensed or decommissioned.
    /// Emits {UnitStatusChanged} (decommissioning/destroyed).
    function decommission(
        ProductId calldata pid,
        bytes32[] calldata proof,
        bytes32 container,
        bytes32[] calldata containerProof
    ) external;

    /// @notice Flags a unit as Suspect or Stolen (any active partner), or Illegitimate
    /// (regulator, or the manufacturer/repackager owning the GTIN). Custody does not change.
    /// Requirements: the identifier is in its lot; `status` is Suspect, Stolen or Illegitimate;
    /// a unit found Illegitimate is not re-flagged Suspect or Stolen (only a regulator's
    /// {resolveUnit} changes that finding).
    /// Emits {UnitStatusChanged} (holding/suspect|stolen|illegitimate).
    function reportUnit(
        ProductId calldata pid,
        bytes32[] calldata proof,
        UnitStatus status
    ) external;

    /// @notice Regulator's resolution of an investigation: sets any status but ReturnPending
    /// (e.g. clears a suspect unit back to Active, or restores Dispensed after a clone was
    /// found); custody does not change.
    /// Requirements: caller has REGULATOR_ROLE; the identifier is in its lot; `status` is not
    /// ReturnPending (returns are started only by the holder).
    /// Emits {UnitStatusChanged} (inspecting).
    function resolveUnit(
        ProductId calldata pid,
        bytes32[] calldata proof,
        UnitStatus status
    ) external;

    /// @notice Recalls a whole lot (one write, whatever its size).
    /// Requirements: caller has REGULATOR_ROLE or is the manufacturer/repackager owning `gtin`;
    /// the lot exists and is not recalled yet.
    /// Emits {LotRecalled}.
    function recall(uint64 gtin, bytes20 lot) external returns (bytes32 lotId);

    /// @notice Verifies a product identifier with its Merkle proof (free as a call).
    function verify(
        ProductId calldata pid,
        bytes32[] calldata proof
    ) external view returns (Outcome outcome);

    /// @notice Verifies a product identifier and logs the request and answer on chain.
    /// Requirements: caller is an active partner or has REGULATOR_ROLE.
    /// Emits {ProductVerified}.
    function verifyAndLog(
        ProductId calldata pid,
        bytes32[] calldata proof
    ) external returns (Outcome outcome);

    /// @notice The DID registry partners are linked through.
    function didRegistry() external view returns (address);

    /// @notice A partner's record (role None if never registered).
    function partnerOf(address account) external view returns (Partner memory);

    /// @notice A lot's or aggregation's record (root zero if unknown).
    function containerOf(bytes32 containerId) external view returns (Container memory);

    /// @notice The lot an aggregation's units belong to (zero for lots and unknown ids).
    function lotOfAggregation(bytes32 containerId) external view returns (bytes32);

    /// @notice Whether the lot is recalled.
    function isRecalled(bytes32 lotId) external view returns (bool);

    /// @notice Whether the container was broken down into aggregations.
    function isOpened(bytes32 containerId) external view returns (bool);

    /// @notice The receiver of the container's pending shipment (zero if none).
    function pendingShipment(bytes32 containerId) external view returns (address);

    /// @notice A unit's own record (Active with zero custodian if it never left the normal path).
    function unitOf(bytes32 unitId) external view returns (Unit memory);

    /// @notice The current custodian of a unit held through `container` (the lot, or an
    /// aggregation), with `containerProof` the unit's proof in that container (for the lot:
    /// the lot proof), or through its own record. Reverts as the custody check of {dispense}
    /// would (unknown or wrong container, unit packed into an aggregation, in transit, bad proof).
    function custodianOf(
        ProductId calldata pid,
        bytes32 container,
        bytes32[] calldata containerProof
    ) external view returns (address);

    /// @notice The receiver of a unit's pending return (zero if none).
    function pendingReturn(bytes32 unitId) external view returns (address);

    /// @notice The aggregation packed from node `root` of `parent` (zero if none).
    function packedFrom(bytes32 parent, bytes32 root) external view returns (bytes32);

    /// @notice Unix time from which product with this YYMMDD expiry is expired (start of the
    /// next day, UTC; DD = 00 means the month's last day; years 2000-2099).
    function expiryTimestamp(uint24 expiry) external pure returns (uint256);

    /// @notice The lot id of (gtin, lot).
    function lotIdOf(uint64 gtin, bytes20 lot) external pure returns (bytes32);

    /// @notice The unit id of (gtin, serial).
    function unitIdOf(uint64 gtin, bytes20 serial) external pure returns (bytes32);

    /// @notice The Merkle leaf of a product identifier (OpenZeppelin StandardMerkleTree form).
    function leafOf(ProductId calldata pid) external pure returns (bytes32);

    /// @notice The container id of an SSCC aggregation.
    function aggregationId(uint64 sscc) external pure returns (bytes32);
}

/// @notice The one ERC-1056 function the serial registry uses to link partners to DIDs.
interface IIdentityOwnerLookup {
    /// @notice The effective owner of `identity` (zero once deactivated).
    function identityOwner(address identity) external view returns (address);
}
