// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IConsortiumGovernor
/// @notice What the consortium's OpenZeppelin Governor adds to IGovernor: M-of-N approval.
/// A proposal passes only when at least `minApprovals` members voted for it (abstentions
/// do not count towards it) and more voted for than against. M is checkpointed, so a change
/// applies to proposals made after it, and is changed only by governance.
interface IConsortiumGovernor {
    /// @notice M must be at least 1 and at most the number of members `members`.
    error ConsortiumGovernorInvalidMinApprovals(uint256 minApprovals, uint256 members);
    /// @notice An executed proposal would leave fewer members than the approvals it takes
    /// to pass anything (governance would lock itself out).
    error ConsortiumGovernorTooFewMembers(uint256 members, uint256 minApprovals);
    /// @notice `account` held no membership at the proposal's snapshot: its vote would count nothing.
    error ConsortiumGovernorNotAMember(address account);

    /// @notice M changed from `oldMinApprovals` to `newMinApprovals` (from the next proposals on).
    event MinApprovalsUpdated(uint256 oldMinApprovals, uint256 newMinApprovals);

    /// @notice M now: "for" votes a new proposal needs.
    function minApprovals() external view returns (uint256);

    /// @notice Set M. Only through governance (a passed, queued and executed proposal).
    function setMinApprovals(uint256 newMinApprovals) external;
}
