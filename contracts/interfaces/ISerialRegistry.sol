// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title ISerialRegistry
/// @notice Types, errors and events of the pharmaceutical serial registry (DSCSA / GS1):
/// trading partners, Merkle-committed lots, shipments of lots and SSCC aggregations,
/// per-unit exceptions (dispensed, returned, stolen, suspect, illegitimate), recalls and
/// product-identifier verification. Events carry EPCIS 2.0 codes (event type, bizStep,
/// disposition) so they map onto existing traceability systems.
interface ISerialRegistry {
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

    // ------------------------------------------------------------------ ERRORS

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

    // ------------------------------------------------------------------ EVENTS

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
}

/// @notice The one ERC-1056 function the serial registry uses to link partners to DIDs.
interface IIdentityOwnerLookup {
    function identityOwner(address identity) external view returns (address);
}
