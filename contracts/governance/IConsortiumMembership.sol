// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IConsortiumMembership
/// @notice Consortium membership as a soulbound ERC-721 with ERC-5805 votes: one token,
/// hence one vote, per member institution; token id = the member's address. Only the
/// consortium's timelock (governance) adds and removes members. The ERC-721, ERC-5805 and
/// ERC-6372 functions are documented by those standards' interfaces.
interface IConsortiumMembership {
    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice Only the consortium's timelock may add or remove members.
    error ConsortiumMembershipNotGovernance(address caller);
    /// @notice `account` is already a member (one vote per institution).
    error ConsortiumMembershipAlreadyMember(address account);
    /// @notice `account` is not a member.
    error ConsortiumMembershipNotMember(address account);
    /// @notice Membership cannot be transferred (or approved for transfer): it is the
    /// institution's vote, not an asset.
    error ConsortiumMembershipSoulbound(uint256 tokenId);
    /// @notice A member's vote stays with the member: delegating it to another account
    /// would let one account cast two members' votes.
    error ConsortiumMembershipDelegationFixed(address account, address delegatee);
    /// @notice The zero address cannot be the governance timelock or a member.
    error ConsortiumMembershipZeroAddress();

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice `account` joined the consortium (its token was minted, its vote self-delegated).
    event MemberAdded(address indexed account);
    /// @notice `account` left the consortium (its token was burnt, its vote removed).
    event MemberRemoved(address indexed account);

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice The timelock that alone adds and removes members.
    function governance() external view returns (address);

    /// @notice Members now (tokens in existence).
    function memberCount() external view returns (uint256);

    /// @notice Every member now, in no particular order.
    function members() external view returns (address[] memory);

    /// @notice Whether `account` is a member now.
    function isMember(address account) external view returns (bool);

    /// @notice Add `account` as a member: mints its token (id = its address) and
    /// self-delegates its vote. Only the governance timelock.
    function addMember(address account) external;

    /// @notice Remove `account`: burns its token, its vote ends. Only the governance timelock.
    function removeMember(address account) external;
}
