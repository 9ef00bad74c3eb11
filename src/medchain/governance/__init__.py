"""Consortium governance: members decide admin actions on every medchain contract together
(M-of-N votes in an OpenZeppelin Governor, run by a TimelockController after a delay).
`GovernanceClient` proposes, votes, queues and executes; `medchain.governance.deploy`
deploys the governance contracts and hands every admin to the timelock;
`medchain.governance.upgrade` proposes in-place upgrades of the book's proxies;
`medchain.governance.switch` moves a migrated contract and its dependents to the next
version."""

from medchain.governance.client import (
    Call,
    GovernanceClient,
    GovernanceRefused,
    NotAMember,
    Proposal,
    ProposalNotReady,
    ProposalState,
    Support,
    parse_proposal_id,
    proposal_label,
)
from medchain.governance.deploy import GovernanceConfig, HandoverOutcome, hand_over
from medchain.governance.switch import SwitchProposal, SwitchRefused, propose_switch
from medchain.governance.upgrade import NotUpgradeable, UpgradeProposal, propose_upgrade

__all__ = [
    "Call",
    "GovernanceClient",
    "GovernanceConfig",
    "GovernanceRefused",
    "HandoverOutcome",
    "NotAMember",
    "NotUpgradeable",
    "Proposal",
    "ProposalNotReady",
    "ProposalState",
    "Support",
    "SwitchProposal",
    "SwitchRefused",
    "UpgradeProposal",
    "hand_over",
    "parse_proposal_id",
    "proposal_label",
    "propose_switch",
    "propose_upgrade",
]
