// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IGovernor, Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {GovernorCountingSimple} from "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernorStorage} from "@openzeppelin/contracts/governance/extensions/GovernorStorage.sol";
import {GovernorTimelockControl} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";

import {IConsortiumGovernor} from "./IConsortiumGovernor.sol";
import {IConsortiumMembership} from "./IConsortiumMembership.sol";

/// @title ConsortiumGovernor
/// @notice The consortium's M-of-N decisions, built from OpenZeppelin Governor modules:
/// votes from ConsortiumMembership (one per member), settings changeable by governance,
/// proposals stored on chain (queue/execute by id), and every passed proposal run by the
/// TimelockController after its delay. Only members propose (threshold 1 vote).
/// @dev The one departure from GovernorCountingSimple: quorum counts "for" votes only and
/// is an absolute number M (checkpointed like GovernorVotesQuorumFraction's fraction), so
/// "at least M members approved" is what passing means; an abstention cannot help it pass.
contract ConsortiumGovernor is
    IConsortiumGovernor,
    GovernorSettings,
    GovernorCountingSimple,
    GovernorStorage,
    GovernorVotes,
    GovernorTimelockControl
{
    using Checkpoints for Checkpoints.Trace208;

    Checkpoints.Trace208 private _minApprovals;

    /// @param membership The ConsortiumMembership token (ERC-5805 votes, timestamp clock).
    /// @param timelock The TimelockController that executes passed proposals.
    /// @param votingDelay_ Seconds between a proposal and the start of its vote.
    /// @param votingPeriod_ Seconds the vote lasts.
    /// @param minApprovals_ M: "for" votes a proposal needs.
    constructor(
        IVotes membership,
        TimelockController timelock,
        uint48 votingDelay_,
        uint32 votingPeriod_,
        uint256 minApprovals_
    )
        Governor("ConsortiumGovernor")
        GovernorSettings(votingDelay_, votingPeriod_, 1)
        GovernorVotes(membership)
        GovernorTimelockControl(timelock)
    {
        _setMinApprovals(minApprovals_);
    }

    /*//////////////////////////////////////////////////////////////
                              M OF N
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IConsortiumGovernor
    function minApprovals() public view returns (uint256) {
        return _minApprovals.latest();
    }

    /// @inheritdoc IConsortiumGovernor
    function setMinApprovals(uint256 newMinApprovals) external onlyGovernance {
        _setMinApprovals(newMinApprovals);
    }

    /// @notice M as it stood at `timepoint` (the proposal's snapshot when the Governor asks).
    function quorum(uint256 timepoint) public view override returns (uint256) {
        return _minApprovals.upperLookupRecent(SafeCast.toUint48(timepoint));
    }

    function _setMinApprovals(uint256 newMinApprovals) private {
        uint256 members = IConsortiumMembership(address(token())).memberCount();
        if (newMinApprovals == 0 || newMinApprovals > members) {
            revert ConsortiumGovernorInvalidMinApprovals(newMinApprovals, members);
        }
        (uint208 old, uint208 current) = _minApprovals.push(clock(), SafeCast.toUint208(newMinApprovals));
        emit MinApprovalsUpdated(old, current);
    }

    /// @dev Passing takes M "for" votes; abstentions do not count (GovernorCountingSimple
    /// counts them towards quorum).
    function _quorumReached(uint256 proposalId)
        internal
        view
        override(Governor, GovernorCountingSimple)
        returns (bool)
    {
        (, uint256 forVotes,) = proposalVotes(proposalId);
        return quorum(proposalSnapshot(proposalId)) <= forVotes;
    }

    /// @dev A vote of weight 0 (no membership at the snapshot) is refused, not counted as nothing.
    function _countVote(uint256 proposalId, address account, uint8 support, uint256 totalWeight, bytes memory params)
        internal
        override(Governor, GovernorCountingSimple)
        returns (uint256)
    {
        if (totalWeight == 0) revert ConsortiumGovernorNotAMember(account);
        return super._countVote(proposalId, account, support, totalWeight, params);
    }

    /// @dev After a proposal runs, at least M members must remain, else nothing could pass again.
    function _executeOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) {
        super._executeOperations(proposalId, targets, values, calldatas, descriptionHash);
        uint256 members = IConsortiumMembership(address(token())).memberCount();
        uint256 m = minApprovals();
        if (members < m) revert ConsortiumGovernorTooFewMembers(members, m);
    }

    /*//////////////////////////////////////////////////////////////
                     OPENZEPPELIN MODULE RESOLUTION
    //////////////////////////////////////////////////////////////*/

    function votingDelay() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingDelay();
    }

    function votingPeriod() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingPeriod();
    }

    function proposalThreshold() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.proposalThreshold();
    }

    function state(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (ProposalState)
    {
        return super.state(proposalId);
    }

    function proposalNeedsQueuing(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (bool)
    {
        return super.proposalNeedsQueuing(proposalId);
    }

    function _propose(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        string memory description,
        address proposer
    ) internal override(Governor, GovernorStorage) returns (uint256) {
        return super._propose(targets, values, calldatas, description, proposer);
    }

    function _queueOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint48) {
        return super._queueOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _cancel(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint256) {
        return super._cancel(targets, values, calldatas, descriptionHash);
    }

    function _executor() internal view override(Governor, GovernorTimelockControl) returns (address) {
        return super._executor();
    }
}
