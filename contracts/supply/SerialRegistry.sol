// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {ISerialRegistry, IIdentityOwnerLookup} from "../interfaces/ISerialRegistry.sol";

/// @title SerialRegistry
/// @notice DSCSA / GS1 serialisation at constant cost per lot: trading partners linked to
/// their did:ethr identities, lots commissioned as one Merkle root over their serial
/// leaves, custody of lots and SSCC aggregations moved by ship/receive, per-unit records
/// only for units off the normal path, lot recalls, and product-identifier verification.
/// @dev Identifiers (see docs/supply.md):
///  - leaf    = keccak256(bytes.concat(keccak256(abi.encode(uint64 gtin, bytes20 lot, uint24 expiry, bytes20 serial))))
///             (the OpenZeppelin StandardMerkleTree leaf; proofs use sorted-pair hashing);
///  - lotId   = keccak256(abi.encode(uint64 gtin, bytes20 lot));
///  - unitId  = keccak256(abi.encode(uint64 gtin, bytes20 serial)) (DSCSA uniqueness is GTIN+serial,
///             so a clone is caught whatever lot its label claims);
///  - aggregation id = bytes32(uint256(sscc)).
/// Containers form a tree per lot: an aggregation's root is proven to be a node of its
/// parent's Merkle tree, all aggregations of one parent sit at the same depth below its root
/// and none is packed twice, so siblings are disjoint and a unit is in exactly one innermost
/// container. A unit's custodian is that container's custodian, unless the unit has its own
/// record (dispensed, decommissioned, returned): then it is the record's custodian.
///
/// Authority is split (docs/supply.md, "Roles"): the default admin (governance) only grants
/// and revokes; the registrar onboards partners; the regulator investigates; the guardian only
/// pauses. The four are held by four different accounts, enforced on every grant, so no one
/// key can onboard a partner and then clear that partner's flagged units, or pause and unpause.
/// A pause stops the normal flow of goods (onboarding, commissioning, packing, shipping,
/// receiving, dispensing, returns, destruction) but never reads, flags, recalls, a partner's
/// deactivation, the undoing of a pending transfer, or the regulator's quarantine.
contract SerialRegistry is ISerialRegistry, AccessControlDefaultAdminRules, Pausable {
    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISerialRegistry
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
    /// @inheritdoc ISerialRegistry
    bytes32 public constant REGULATOR_ROLE = keccak256("REGULATOR_ROLE");
    /// @inheritdoc ISerialRegistry
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    uint8 private constant _FLAG_RECALLED = 1;
    uint8 private constant _FLAG_OPENED = 2;
    uint64 private constant _GTIN_LIMIT = 1e14; // 14 digits
    uint64 private constant _SSCC_LIMIT = 1e18; // 18 digits

    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    IIdentityOwnerLookup private immutable _didRegistry;
    mapping(address account => Partner) private _partners;
    mapping(bytes32 containerId => Container) private _containers;
    mapping(bytes32 aggregationId => bytes32 lotId) private _lotOf;
    mapping(bytes32 containerId => address to) private _pending;
    mapping(bytes32 unitId => Unit) private _units;
    /// @dev keccak256(abi.encode(parent, node)) => the aggregation packed from that node.
    mapping(bytes32 parentNode => bytes32 aggregationId) private _packed;
    mapping(bytes32 unitId => address to) private _returnTo;

    /// @param didRegistry The ERC-1056 registry partners' identities live in.
    /// @param admin Default admin (2-step transfer, 1 day delay): grants and revokes roles,
    /// unpauses; holds no operational role.
    /// @param registrar First REGISTRAR_ROLE holder (onboards trading partners).
    /// @param regulator First REGULATOR_ROLE holder; an account other than `registrar` and `admin`.
    constructor(address didRegistry, address admin, address registrar, address regulator)
        AccessControlDefaultAdminRules(1 days, admin)
    {
        if (registrar == address(0)) revert SerialRegistryZeroAccount(REGISTRAR_ROLE);
        if (regulator == address(0)) revert SerialRegistryZeroAccount(REGULATOR_ROLE);
        _didRegistry = IIdentityOwnerLookup(didRegistry);
        _grantRole(REGISTRAR_ROLE, registrar); // refuses the admin (SerialRegistryRoleConflict)
        _grantRole(REGULATOR_ROLE, regulator); // refuses the admin and the registrar
    }

    /*//////////////////////////////////////////////////////////////
                              ROLES, PAUSE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISerialRegistry
    function pause() external onlyRole(GUARDIAN_ROLE) {
        _pause();
    }

    /// @inheritdoc ISerialRegistry
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    /// @dev Admin, registrar, regulator and guardian are four different accounts. A registrar
    /// that is also regulator could onboard a partner and clear the units it was caught with
    /// (resolveUnit), a guardian that is also admin could pause and unpause at will, and an
    /// admin holding an operational role is the one key this split removes. Checked on every
    /// grant, including the acceptance of an admin transfer; grants are rare, so the extra
    /// reads cost nothing on the operational path. Revocations are never blocked.
    function _grantRole(bytes32 role, address account) internal override returns (bool) {
        if (
            role == DEFAULT_ADMIN_ROLE || role == REGISTRAR_ROLE || role == REGULATOR_ROLE
                || role == GUARDIAN_ROLE
        ) {
            _requireNoOtherAuthority(role, account, DEFAULT_ADMIN_ROLE);
            _requireNoOtherAuthority(role, account, REGISTRAR_ROLE);
            _requireNoOtherAuthority(role, account, REGULATOR_ROLE);
            _requireNoOtherAuthority(role, account, GUARDIAN_ROLE);
        }
        return super._grantRole(role, account);
    }

    function _requireNoOtherAuthority(bytes32 granted, address account, bytes32 other) private view {
        if (other != granted && hasRole(other, account)) revert SerialRegistryRoleConflict(account, other, granted);
    }

    /*//////////////////////////////////////////////////////////////
                                PARTNERS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISerialRegistry
    function registerPartner(
        address account,
        address identity,
        Role role,
        uint64 companyPrefix,
        uint8 prefixLength
    ) external onlyRole(REGISTRAR_ROLE) whenNotPaused {
        if (role == Role.None) revert SerialRegistryInvalidRole(role);
        address owner = _didRegistry.identityOwner(identity);
        if (owner != account) revert SerialRegistryNotIdentityOwner(identity, owner, account);
        if (prefixLength != 0 || role == Role.Manufacturer || role == Role.Repackager) {
            if (prefixLength < 4 || prefixLength > 12 || companyPrefix >= 10 ** uint256(prefixLength)) {
                revert SerialRegistryInvalidCompanyPrefix(companyPrefix, prefixLength);
            }
        } else if (companyPrefix != 0) {
            revert SerialRegistryInvalidCompanyPrefix(companyPrefix, prefixLength);
        }
        _partners[account] = Partner(identity, role, prefixLength, companyPrefix, true);
        emit PartnerRegistered(account, identity, role, companyPrefix, prefixLength);
    }

    /// @inheritdoc ISerialRegistry
    function deactivatePartner(address account) external onlyRole(REGISTRAR_ROLE) {
        if (!_partners[account].active) revert SerialRegistryNotPartner(account);
        _partners[account].active = false;
        emit PartnerDeactivated(account);
    }

    /*//////////////////////////////////////////////////////////////
                             COMMISSIONING
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISerialRegistry
    function commission(
        uint64 gtin,
        bytes20 lot,
        uint24 expiry,
        uint32 count,
        bytes32 root,
        string calldata manifestCid
    ) external whenNotPaused returns (bytes32 lotId) {
        _requireGtinOwner(gtin);
        _splitDate(expiry); // validates YYMMDD
        lotId = lotIdOf(gtin, lot);
        if (lot == bytes20(0) || root == bytes32(0) || count == 0) revert SerialRegistryInvalidLot(lotId, count);
        Container storage c = _containers[lotId];
        if (c.root != bytes32(0)) revert SerialRegistryContainerExists(lotId);
        c.root = root;
        c.custodian = msg.sender;
        c.count = count;
        c.expiry = expiry;
        emit LotCommissioned(
            lotId,
            msg.sender,
            gtin,
            lot,
            expiry,
            count,
            root,
            manifestCid,
            EventType.Object,
            BizStep.Commissioning,
            Disposition.Active
        );
    }

    /// @inheritdoc ISerialRegistry
    function aggregate(uint64 sscc, bytes32 parent, bytes32 root, uint32 count, bytes32[] calldata nodeProof)
        external
        whenNotPaused
        returns (bytes32 containerId)
    {
        Partner storage me = _partners[msg.sender];
        if (!me.active) revert SerialRegistryNotPartner(msg.sender);
        Container storage p = _heldContainer(parent);
        if (sscc >= _SSCC_LIMIT || !_checkDigitOk(sscc, 18)) revert SerialRegistryInvalidAggregation(sscc, count);
        _requireSsccOwner(sscc, me);
        if (root == bytes32(0) || count == 0 || count > p.count) revert SerialRegistryInvalidAggregation(sscc, count);
        containerId = aggregationId(sscc);
        if (_containers[containerId].root != bytes32(0)) revert SerialRegistryContainerExists(containerId);
        if (MerkleProof.processProofCalldata(nodeProof, root) != p.root) revert SerialRegistryNotInParent(parent, root);
        uint8 depth = _packNode(p, parent, root, nodeProof.length, containerId, count);
        bytes32 lotId = _lotOf[parent];
        if (lotId == bytes32(0)) lotId = parent;
        _containers[containerId] = Container(root, msg.sender, count, 0, 0, 0);
        _lotOf[containerId] = lotId;
        emit Aggregated(
            containerId,
            parent,
            msg.sender,
            lotId,
            sscc,
            root,
            count,
            depth,
            EventType.Aggregation,
            BizStep.Packing,
            Disposition.InProgress
        );
    }

    /*//////////////////////////////////////////////////////////////
                                CUSTODY
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISerialRegistry
    function ship(bytes32 containerId, address to) external whenNotPaused {
        _requirePartner(msg.sender);
        if (_heldContainer(containerId).flags & _FLAG_OPENED != 0) revert SerialRegistryContainerOpened(containerId);
        Role toRole = _requirePartner(to);
        if (to == msg.sender) revert SerialRegistrySelfShipment(containerId, to);
        bytes32 lotId = _lotOf[containerId];
        if (lotId == bytes32(0)) lotId = containerId;
        if (
            _containers[lotId].flags & _FLAG_RECALLED != 0 && toRole != Role.Manufacturer
                && toRole != Role.Repackager
        ) revert SerialRegistryRecalledShipment(lotId, to);
        _pending[containerId] = to;
        emit Shipped(containerId, msg.sender, to, EventType.Object, BizStep.Shipping, Disposition.InTransit);
    }

    /// @inheritdoc ISerialRegistry
    function receiveShipment(bytes32 containerId) external whenNotPaused {
        _requirePartner(msg.sender);
        address to = _pending[containerId];
        if (to == address(0)) revert SerialRegistryNoShipmentPending(containerId);
        if (to != msg.sender) revert SerialRegistryNotReceiver(containerId, msg.sender, to);
        Container storage c = _containers[containerId];
        address from = c.custodian;
        c.custodian = msg.sender;
        delete _pending[containerId];
        emit Received(containerId, from, msg.sender, EventType.Object, BizStep.Receiving, Disposition.InProgress);
    }

    /// @inheritdoc ISerialRegistry
    function cancelShipment(bytes32 containerId) external {
        address to = _pending[containerId];
        if (to == address(0)) revert SerialRegistryNoShipmentPending(containerId);
        address from = _containers[containerId].custodian;
        if (msg.sender != to && msg.sender != from) revert SerialRegistryNotReceiver(containerId, msg.sender, to);
        delete _pending[containerId];
        emit ShipmentCancelled(containerId, from, to, EventType.Object, BizStep.VoidShipping, Disposition.Active);
    }

    /*//////////////////////////////////////////////////////////////
                            UNIT EXCEPTIONS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISerialRegistry
    function dispense(
        ProductId calldata pid,
        bytes32[] calldata proof,
        bytes32 container,
        bytes32[] calldata containerProof
    ) external whenNotPaused returns (Outcome outcome) {
        Role role = _requirePartner(msg.sender);
        if (role != Role.Dispenser) revert SerialRegistryWrongRole(msg.sender, role);
        bytes32 leaf = leafOf(pid);
        bytes32 lotId;
        bytes32 unitId;
        (outcome, lotId, unitId) = _assess(pid, leaf, proof);
        if (outcome == Outcome.AlreadyDispensed) {
            _setStatus(unitId, lotId, _units[unitId].custodian, UnitStatus.Suspect, BizStep.Inspecting);
            return outcome;
        }
        if (outcome != Outcome.Genuine) revert SerialRegistryNotVerified(unitId, outcome);
        _requireUnitCustody(unitId, lotId, leaf, container, container == lotId ? proof : containerProof);
        _setStatus(unitId, lotId, msg.sender, UnitStatus.Dispensed, BizStep.Dispensing);
    }

    /// @inheritdoc ISerialRegistry
    function initiateReturn(
        ProductId calldata pid,
        bytes32[] calldata proof,
        bytes32 container,
        bytes32[] calldata containerProof,
        address to
    ) external whenNotPaused {
        _requirePartner(msg.sender);
        Role toRole = _requirePartner(to);
        if (toRole == Role.Dispenser) revert SerialRegistryWrongRole(to, toRole);
        bytes32 leaf = leafOf(pid);
        (Outcome outcome, bytes32 lotId, bytes32 unitId) = _assess(pid, leaf, proof);
        if (to == msg.sender) revert SerialRegistrySelfShipment(unitId, to);
        if (outcome != Outcome.Genuine) revert SerialRegistryNotVerified(unitId, outcome);
        _requireUnitCustody(unitId, lotId, leaf, container, container == lotId ? proof : containerProof);
        _units[unitId] = Unit(msg.sender, UnitStatus.ReturnPending);
        _returnTo[unitId] = to;
        emit ReturnInitiated(unitId, lotId, msg.sender, to, EventType.Object, BizStep.Returning, Disposition.InTransit);
    }

    /// @inheritdoc ISerialRegistry
    function acceptReturn(ProductId calldata pid, bytes32[] calldata proof) external whenNotPaused {
        _requirePartner(msg.sender);
        (bytes32 lotId, bytes32 unitId) = _requireInLot(pid, leafOf(pid), proof);
        address to = _returnTo[unitId];
        if (to == address(0) || _units[unitId].status != UnitStatus.ReturnPending) {
            revert SerialRegistryNoReturnPending(unitId);
        }
        if (to != msg.sender) revert SerialRegistryNotReturnParty(unitId, msg.sender, _units[unitId].custodian, to);
        delete _returnTo[unitId];
        _setStatus(unitId, lotId, msg.sender, UnitStatus.Returned, BizStep.Returning);
    }

    /// @inheritdoc ISerialRegistry
    function cancelReturn(ProductId calldata pid, bytes32[] calldata proof) external {
        (bytes32 lotId, bytes32 unitId) = _requireInLot(pid, leafOf(pid), proof);
        address to = _returnTo[unitId];
        if (to == address(0)) revert SerialRegistryNoReturnPending(unitId);
        Unit storage u = _units[unitId];
        address from = u.custodian;
        if (msg.sender != to && msg.sender != from) revert SerialRegistryNotReturnParty(unitId, msg.sender, from, to);
        delete _returnTo[unitId];
        if (u.status == UnitStatus.ReturnPending) u.status = UnitStatus.Returned;
        emit ReturnCancelled(unitId, lotId, from, to, EventType.Object, BizStep.VoidShipping, Disposition.Active);
    }

    /// @inheritdoc ISerialRegistry
    function decommission(
        ProductId calldata pid,
        bytes32[] calldata proof,
        bytes32 container,
        bytes32[] calldata containerProof
    ) external whenNotPaused {
        _requirePartner(msg.sender);
        bytes32 leaf = leafOf(pid);
        (bytes32 lotId, bytes32 unitId) = _requireInLot(pid, leaf, proof);
        UnitStatus status = _units[unitId].status;
        if (status == UnitStatus.Dispensed || status == UnitStatus.Decommissioned) {
            revert SerialRegistryUnitStatus(unitId, status);
        }
        _requireUnitCustody(unitId, lotId, leaf, container, container == lotId ? proof : containerProof);
        _setStatus(unitId, lotId, msg.sender, UnitStatus.Decommissioned, BizStep.Decommissioning);
    }

    /// @inheritdoc ISerialRegistry
    function reportUnit(ProductId calldata pid, bytes32[] calldata proof, UnitStatus status) external {
        if (status == UnitStatus.Illegitimate) {
            _requireGtinOwnerOrRegulator(pid.gtin);
        } else if (status == UnitStatus.Suspect || status == UnitStatus.Stolen) {
            _requirePartner(msg.sender);
        } else {
            revert SerialRegistryInvalidStatus(status);
        }
        (bytes32 lotId, bytes32 unitId) = _requireInLot(pid, leafOf(pid), proof);
        Unit storage u = _units[unitId];
        UnitStatus previous = u.status;
        if (previous == UnitStatus.Illegitimate && status != UnitStatus.Illegitimate) {
            revert SerialRegistryUnitStatus(unitId, previous);
        }
        _setStatus(unitId, lotId, u.custodian, status, BizStep.Holding);
    }

    /// @inheritdoc ISerialRegistry
    function resolveUnit(ProductId calldata pid, bytes32[] calldata proof, UnitStatus status)
        external
        onlyRole(REGULATOR_ROLE)
    {
        if (status == UnitStatus.ReturnPending) revert SerialRegistryInvalidStatus(status);
        // While paused the regulator may still quarantine (any status that does not verify
        // Genuine) but not put a unit back into circulation: a stolen regulator key cannot
        // launder flagged units during the incident the pause is for.
        if (status == UnitStatus.Active || status == UnitStatus.Returned) _requireNotPaused();
        (bytes32 lotId, bytes32 unitId) = _requireInLot(pid, leafOf(pid), proof);
        _setStatus(unitId, lotId, _units[unitId].custodian, status, BizStep.Inspecting);
    }

    /// @inheritdoc ISerialRegistry
    function recall(uint64 gtin, bytes20 lot) external returns (bytes32 lotId) {
        _requireGtinOwnerOrRegulator(gtin);
        lotId = lotIdOf(gtin, lot);
        Container storage c = _containers[lotId];
        if (c.root == bytes32(0)) revert SerialRegistryUnknownContainer(lotId);
        if (c.flags & _FLAG_RECALLED != 0) revert SerialRegistryAlreadyRecalled(lotId);
        c.flags |= _FLAG_RECALLED;
        emit LotRecalled(lotId, msg.sender, EventType.Object, BizStep.Recalling, Disposition.Recalled);
    }

    /*//////////////////////////////////////////////////////////////
                              VERIFICATION
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISerialRegistry
    function verify(ProductId calldata pid, bytes32[] calldata proof) external view returns (Outcome outcome) {
        (outcome,,) = _assess(pid, leafOf(pid), proof);
    }

    /// @inheritdoc ISerialRegistry
    function verifyAndLog(ProductId calldata pid, bytes32[] calldata proof) external returns (Outcome outcome) {
        // Partner first: the common caller then pays no cold read of the role slot.
        if (!_partners[msg.sender].active && !hasRole(REGULATOR_ROLE, msg.sender)) {
            revert SerialRegistryNotPartner(msg.sender);
        }
        bytes32 lotId;
        bytes32 unitId;
        (outcome, lotId, unitId) = _assess(pid, leafOf(pid), proof);
        emit ProductVerified(unitId, msg.sender, lotId, outcome, EventType.Object, BizStep.Inspecting);
    }

    /*//////////////////////////////////////////////////////////////
                                GETTERS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISerialRegistry
    function didRegistry() external view returns (address) {
        return address(_didRegistry);
    }

    /// @inheritdoc ISerialRegistry
    function partnerOf(address account) external view returns (Partner memory) {
        return _partners[account];
    }

    /// @inheritdoc ISerialRegistry
    function containerOf(bytes32 containerId) external view returns (Container memory) {
        return _containers[containerId];
    }

    /// @inheritdoc ISerialRegistry
    function lotOfAggregation(bytes32 containerId) external view returns (bytes32) {
        return _lotOf[containerId];
    }

    /// @inheritdoc ISerialRegistry
    function isRecalled(bytes32 lotId) external view returns (bool) {
        return _containers[lotId].flags & _FLAG_RECALLED != 0;
    }

    /// @inheritdoc ISerialRegistry
    function isOpened(bytes32 containerId) external view returns (bool) {
        return _containers[containerId].flags & _FLAG_OPENED != 0;
    }

    /// @inheritdoc ISerialRegistry
    function pendingShipment(bytes32 containerId) external view returns (address) {
        return _pending[containerId];
    }

    /// @inheritdoc ISerialRegistry
    function unitOf(bytes32 unitId) external view returns (Unit memory) {
        return _units[unitId];
    }

    /// @inheritdoc ISerialRegistry
    function custodianOf(ProductId calldata pid, bytes32 container, bytes32[] calldata containerProof)
        external
        view
        returns (address)
    {
        bytes32 leaf = leafOf(pid);
        bytes32 unitId = unitIdOf(pid.gtin, pid.serial);
        bytes32 lotId = lotIdOf(pid.gtin, pid.lot);
        if (container == lotId && !MerkleProof.verifyCalldata(containerProof, _containers[lotId].root, leaf)) {
            revert SerialRegistryNotVerified(unitId, Outcome.UnknownSerial);
        }
        return _custodian(unitId, lotId, leaf, container, containerProof);
    }

    /// @inheritdoc ISerialRegistry
    function pendingReturn(bytes32 unitId) external view returns (address) {
        return _units[unitId].status == UnitStatus.ReturnPending ? _returnTo[unitId] : address(0);
    }

    /// @inheritdoc ISerialRegistry
    function packedFrom(bytes32 parent, bytes32 root) external view returns (bytes32) {
        return _packed[keccak256(abi.encode(parent, root))];
    }

    /// @inheritdoc ISerialRegistry
    function expiryTimestamp(uint24 expiry) external pure returns (uint256) {
        return _expiryEnd(expiry);
    }

    /// @inheritdoc ISerialRegistry
    function lotIdOf(uint64 gtin, bytes20 lot) public pure returns (bytes32) {
        return keccak256(abi.encode(gtin, lot));
    }

    /// @inheritdoc ISerialRegistry
    function unitIdOf(uint64 gtin, bytes20 serial) public pure returns (bytes32) {
        return keccak256(abi.encode(gtin, serial));
    }

    /// @inheritdoc ISerialRegistry
    function leafOf(ProductId calldata pid) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(pid.gtin, pid.lot, pid.expiry, pid.serial))));
    }

    /// @inheritdoc ISerialRegistry
    function aggregationId(uint64 sscc) public pure returns (bytes32) {
        return bytes32(uint256(sscc));
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    /// @dev The verification answer, in precedence order: identity (lot, expiry, proof), unit
    /// exceptions, recall, expiry.
    function _assess(ProductId calldata pid, bytes32 leaf, bytes32[] calldata proof)
        private
        view
        returns (Outcome, bytes32 lotId, bytes32 unitId)
    {
        lotId = lotIdOf(pid.gtin, pid.lot);
        unitId = unitIdOf(pid.gtin, pid.serial);
        Container storage c = _containers[lotId];
        bytes32 root = c.root;
        // Aggregation ids are small numbers (SSCCs), never a lot id: c is a lot or empty.
        if (root == bytes32(0) || c.expiry != pid.expiry) return (Outcome.LotExpiryMismatch, lotId, unitId);
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) return (Outcome.UnknownSerial, lotId, unitId);
        UnitStatus status = _units[unitId].status;
        if (status == UnitStatus.Illegitimate) return (Outcome.Illegitimate, lotId, unitId);
        if (status == UnitStatus.Suspect) return (Outcome.Suspect, lotId, unitId);
        if (status == UnitStatus.Stolen) return (Outcome.Stolen, lotId, unitId);
        if (status == UnitStatus.Dispensed) return (Outcome.AlreadyDispensed, lotId, unitId);
        if (status == UnitStatus.Decommissioned) return (Outcome.Decommissioned, lotId, unitId);
        if (c.flags & _FLAG_RECALLED != 0) return (Outcome.Recalled, lotId, unitId);
        if (block.timestamp >= _expiryEnd(pid.expiry)) return (Outcome.Expired, lotId, unitId);
        return (Outcome.Genuine, lotId, unitId);
    }

    function _requireInLot(ProductId calldata pid, bytes32 leaf, bytes32[] calldata proof)
        private
        view
        returns (bytes32 lotId, bytes32 unitId)
    {
        Outcome outcome;
        (outcome, lotId, unitId) = _assess(pid, leaf, proof);
        if (outcome == Outcome.LotExpiryMismatch || outcome == Outcome.UnknownSerial) {
            revert SerialRegistryNotVerified(unitId, outcome);
        }
    }

    /// @dev Marks node `root` of `parent` as packed into `containerId` and opens the parent:
    /// the first aggregation fixes the depth of all its siblings, a node is packed once, and
    /// the parent's directly held count drops by `count` (checked <= by the caller).
    function _packNode(
        Container storage p,
        bytes32 parent,
        bytes32 root,
        uint256 depth,
        bytes32 containerId,
        uint32 count
    ) private returns (uint8) {
        uint8 flags = p.flags;
        if (flags & _FLAG_OPENED != 0 ? depth != p.childDepth : depth > type(uint8).max) {
            revert SerialRegistryChildDepth(parent, depth, p.childDepth);
        }
        bytes32 key = keccak256(abi.encode(parent, root));
        bytes32 existing = _packed[key];
        if (existing != bytes32(0)) revert SerialRegistryNodePacked(parent, root, existing);
        _packed[key] = containerId;
        // Safe: the caller checked count <= p.count, and depth <= 255 above.
        unchecked {
            p.count -= count;
        }
        p.flags = flags | _FLAG_OPENED;
        p.childDepth = uint8(depth);
        return uint8(depth);
    }

    function _requireUnitCustody(
        bytes32 unitId,
        bytes32 lotId,
        bytes32 leaf,
        bytes32 container,
        bytes32[] calldata path
    ) private view {
        address custodian = _custodian(unitId, lotId, leaf, container, path);
        if (custodian != msg.sender) revert SerialRegistryNotCustodian(container, msg.sender, custodian);
    }

    /// @dev The one custodian of a unit: its own record's when it has one (returns pending
    /// confer none: in transit), else the custodian of `container`, the innermost container
    /// holding it. `path` is the unit's proof in `container`; for the lot the caller has
    /// already verified it. Goods in transit, containers of another lot, and a container the
    /// unit was packed out of (into an aggregation) confer no custody.
    function _custodian(bytes32 unitId, bytes32 lotId, bytes32 leaf, bytes32 container, bytes32[] calldata path)
        private
        view
        returns (address)
    {
        Unit storage u = _units[unitId];
        address holder = u.custodian;
        if (holder != address(0)) {
            if (u.status == UnitStatus.ReturnPending) revert SerialRegistryReturnPending(unitId, _returnTo[unitId]);
            return holder;
        }
        Container storage c = _containers[container];
        bytes32 root = c.root;
        if (root == bytes32(0)) revert SerialRegistryUnknownContainer(container);
        address to = _pending[container];
        if (to != address(0)) revert SerialRegistryShipmentPending(container, to);
        if (container != lotId) {
            bytes32 actualLot = _lotOf[container];
            if (actualLot != lotId) revert SerialRegistryContainerLotMismatch(container, lotId, actualLot);
            if (!MerkleProof.verifyCalldata(path, root, leaf)) {
                revert SerialRegistryNotVerified(unitId, Outcome.UnknownSerial);
            }
        }
        if (c.flags & _FLAG_OPENED != 0) {
            // The unit's ancestor `childDepth` hashes below the root: if that node was packed,
            // the unit is held through the aggregation. (A unit whose leaf sits higher than
            // that depth is under no packed node and stays with the container.)
            uint256 depth = c.childDepth;
            if (path.length >= depth) {
                bytes32 node = leaf;
                uint256 steps = path.length - depth;
                for (uint256 i = 0; i < steps; ++i) {
                    node = Hashes.commutativeKeccak256(node, path[i]);
                }
                bytes32 aggregation = _packed[keccak256(abi.encode(container, node))];
                if (aggregation != bytes32(0)) revert SerialRegistryUnitInAggregation(unitId, container, aggregation);
            }
        }
        return c.custodian;
    }

    /// @dev A container the caller holds, with no shipment pending.
    function _heldContainer(bytes32 containerId) private view returns (Container storage c) {
        c = _containers[containerId];
        if (c.root == bytes32(0)) revert SerialRegistryUnknownContainer(containerId);
        if (c.custodian != msg.sender) revert SerialRegistryNotCustodian(containerId, msg.sender, c.custodian);
        address to = _pending[containerId];
        if (to != address(0)) revert SerialRegistryShipmentPending(containerId, to);
    }

    function _setStatus(bytes32 unitId, bytes32 lotId, address custodian, UnitStatus status, BizStep step) private {
        Unit storage u = _units[unitId];
        UnitStatus previous = u.status;
        u.custodian = custodian;
        u.status = status;
        emit UnitStatusChanged(unitId, lotId, msg.sender, previous, status, EventType.Object, step, _disposition(status));
    }

    function _disposition(UnitStatus status) private pure returns (Disposition) {
        if (status == UnitStatus.Dispensed) return Disposition.Dispensed;
        if (status == UnitStatus.Decommissioned) return Disposition.Destroyed;
        if (status == UnitStatus.Returned) return Disposition.Returned;
        if (status == UnitStatus.Stolen) return Disposition.Stolen;
        if (status == UnitStatus.Suspect) return Disposition.Suspect;
        if (status == UnitStatus.Illegitimate) return Disposition.Illegitimate;
        if (status == UnitStatus.ReturnPending) return Disposition.InTransit;
        return Disposition.Active;
    }

    function _requirePartner(address account) private view returns (Role) {
        Partner storage p = _partners[account];
        if (!p.active) revert SerialRegistryNotPartner(account);
        return p.role;
    }

    /// @dev The GTIN's manufacturer/repackager, or else a regulator: ownership is checked
    /// first (an owner pays no cold read of the role slot), and a regulator that is also a
    /// manufacturer still acts on other companies' GTINs.
    function _requireGtinOwnerOrRegulator(uint64 gtin) private view {
        Partner storage p = _partners[msg.sender];
        if (
            p.active && (p.role == Role.Manufacturer || p.role == Role.Repackager) && gtin < _GTIN_LIMIT
                && _checkDigitOk(gtin, 14) && _hasPrefix(gtin, 13, p)
        ) return;
        if (!hasRole(REGULATOR_ROLE, msg.sender)) _requireGtinOwner(gtin); // reverts with the precise reason
    }

    /// @dev `sscc` carries the caller's company prefix (digits 2..1+L of 18).
    function _requireSsccOwner(uint64 sscc, Partner storage me) private view {
        if (me.prefixLength == 0 || !_hasPrefix(sscc, 17, me)) revert SerialRegistrySsccNotOwned(sscc, msg.sender);
    }

    /// @dev Whether the L digits of `number` that follow its first digit, with `afterPrefix`
    /// = digits after them plus L (13 for a GTIN-14, 17 for an SSCC), equal `p`'s prefix.
    function _hasPrefix(uint256 number, uint256 afterPrefix, Partner storage p) private view returns (bool) {
        uint256 length = p.prefixLength;
        // Safe: registered prefixes have 4 <= length <= 12 and afterPrefix >= 13, so the
        // exponents are 1..13 and 4..12 and nothing overflows or underflows.
        unchecked {
            return (number / 10 ** (afterPrefix - length)) % 10 ** length == p.companyPrefix;
        }
    }

    /// @dev Caller is an active manufacturer/repackager and `gtin` is a valid GTIN-14 whose
    /// digits 2..(1+L) are the caller's L-digit company prefix (one division, one modulo).
    function _requireGtinOwner(uint64 gtin) private view {
        Partner storage p = _partners[msg.sender];
        if (!p.active) revert SerialRegistryNotPartner(msg.sender);
        if (p.role != Role.Manufacturer && p.role != Role.Repackager) {
            revert SerialRegistryWrongRole(msg.sender, p.role);
        }
        if (gtin >= _GTIN_LIMIT || !_checkDigitOk(gtin, 14)) revert SerialRegistryInvalidGtin(gtin);
        if (!_hasPrefix(gtin, 13, p)) revert SerialRegistryGtinNotOwned(gtin, msg.sender);
    }

    /// @dev GS1 mod-10 check digit over `digits` digits (GTIN-14: 14, SSCC: 18): from the
    /// right, body digits weigh 3, 1, 3, ...; two digits per iteration keeps the loop short.
    function _checkDigitOk(uint256 number, uint256 digits) private pure returns (bool) {
        // Safe: number < 1e18 and at most 9 iterations; sums stay below 300.
        unchecked {
            uint256 rest = number / 10;
            uint256 sum = 0;
            for (uint256 i = 1; i < digits; i += 2) {
                uint256 pair = rest % 100;
                sum += (pair % 10) * 3 + pair / 10;
                rest /= 100;
            }
            return (10 - (sum % 10)) % 10 == number % 10;
        }
    }

    /// @dev Start of the day after expiry (UTC), validating YYMMDD (years 2000-2099).
    function _expiryEnd(uint24 expiry) private pure returns (uint256) {
        (uint256 year, uint256 month, uint256 day) = _splitDate(expiry);
        return (_daysFromCivil(year, month, day) + 1) * 1 days;
    }

    /// @dev YYMMDD -> (year, month, day), refusing impossible dates; DD = 00 is the last day.
    function _splitDate(uint24 expiry) private pure returns (uint256 year, uint256 month, uint256 day) {
        if (expiry > 991231) revert SerialRegistryInvalidExpiry(expiry);
        uint256 last;
        // Safe: expiry <= 991231, so year <= 2099 and nothing can overflow.
        unchecked {
            year = 2000 + uint256(expiry) / 10000;
            month = (uint256(expiry) / 100) % 100;
            day = uint256(expiry) % 100;
            last = month == 2
                ? (year % 4 == 0 ? 29 : 28) // 2000-2099: every 4th year is a leap year
                : (month == 4 || month == 6 || month == 9 || month == 11 ? 30 : 31);
        }
        if (month == 0 || month > 12 || day > last) revert SerialRegistryInvalidExpiry(expiry);
        if (day == 0) day = last;
    }

    /// @dev Days since 1970-01-01 of a valid date in 2000-2099 (H. Hinnant's days_from_civil
    /// with the 400-year era folded in: 365y + y/4 - y/100 + y/400 for the March-based year).
    function _daysFromCivil(uint256 year, uint256 month, uint256 day) private pure returns (uint256) {
        // Safe: year >= 2000 and 1 <= month <= 12, so nothing underflows (the result is
        // at least 10,957, 2000-01-01) and every term is far below 2^256.
        unchecked {
            uint256 y = month <= 2 ? year - 1 : year;
            uint256 doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
            return 365 * y + y / 4 - y / 100 + y / 400 + doy - 719468;
        }
    }
}
