// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721Votes} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721Votes.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";

import {IConsortiumMembership} from "./IConsortiumMembership.sol";

/// @title ConsortiumMembership
/// @notice The consortium's voting roll: OpenZeppelin ERC721Votes with one soulbound token
/// per member institution (id = its address), each member's vote delegated to itself, and
/// an ERC-6372 timestamp clock (voting periods and delays are in seconds on any chain).
/// Members join and leave only through governance (the timelock mints and burns).
contract ConsortiumMembership is IConsortiumMembership, ERC721Votes {
    using EnumerableSet for EnumerableSet.AddressSet;

    /// @inheritdoc IConsortiumMembership
    address public immutable governance;
    EnumerableSet.AddressSet private _members;

    /// @param governance_ The consortium's TimelockController.
    /// @param founders The founding members, each minted one token and self-delegated.
    constructor(address governance_, address[] memory founders)
        ERC721("Medchain Consortium Membership", "MCM")
        EIP712("ConsortiumMembership", "1")
    {
        if (governance_ == address(0)) revert ConsortiumMembershipZeroAddress();
        governance = governance_;
        for (uint256 i = 0; i < founders.length; ++i) {
            _addMember(founders[i]);
        }
    }

    /// @inheritdoc IConsortiumMembership
    function addMember(address account) external {
        _onlyGovernance();
        _addMember(account);
    }

    /// @inheritdoc IConsortiumMembership
    function removeMember(address account) external {
        _onlyGovernance();
        // the set and the tokens change together, so the set answers "is a member" for both
        if (!_members.remove(account)) revert ConsortiumMembershipNotMember(account);
        _burn(uint256(uint160(account)));
        emit MemberRemoved(account);
    }

    /// @inheritdoc IConsortiumMembership
    function memberCount() external view returns (uint256) {
        return _members.length();
    }

    /// @inheritdoc IConsortiumMembership
    function members() external view returns (address[] memory) {
        return _members.values();
    }

    /// @inheritdoc IConsortiumMembership
    function isMember(address account) external view returns (bool) {
        return _ownerOf(uint256(uint160(account))) != address(0);
    }

    /// @notice ERC-6372: timestamps, so the governor's periods are seconds.
    function clock() public view override returns (uint48) {
        return Time.timestamp();
    }

    /// @notice ERC-6372 clock description.
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    /// @dev Approvals are refused like transfers: a soulbound token has nothing to approve.
    function _approve(address to, uint256 tokenId, address auth, bool emitEvent) internal override {
        if (to != address(0)) revert ConsortiumMembershipSoulbound(tokenId);
        super._approve(to, tokenId, auth, emitEvent);
    }

    /// @dev Operators are refused for the same reason.
    function _setApprovalForAll(address owner, address operator, bool approved) internal override {
        if (approved) revert ConsortiumMembershipSoulbound(0);
        super._setApprovalForAll(owner, operator, approved);
    }

    /// @dev Mint and burn only: a transfer would hand a member's vote to someone else.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = _ownerOf(tokenId);
        if (from != address(0) && to != address(0)) revert ConsortiumMembershipSoulbound(tokenId);
        return super._update(to, tokenId, auth);
    }

    /// @dev A vote stays with its member (self-delegation at mint is the only delegation).
    function _delegate(address account, address delegatee) internal override {
        if (delegatee != account) revert ConsortiumMembershipDelegationFixed(account, delegatee);
        super._delegate(account, delegatee);
    }

    function _addMember(address account) private {
        if (account == address(0)) revert ConsortiumMembershipZeroAddress();
        if (!_members.add(account)) revert ConsortiumMembershipAlreadyMember(account);
        _mint(account, uint256(uint160(account)));
        _delegate(account, account);
        emit MemberAdded(account);
    }

    function _onlyGovernance() private view {
        if (msg.sender != governance) revert ConsortiumMembershipNotGovernance(msg.sender);
    }
}
