"""Consortium governance: members decide admin actions on every medchain contract together
(M-of-N votes in an OpenZeppelin Governor, run by a TimelockController after a delay).
`GovernanceClient` proposes, votes, queues and executes; `medchain.governance.deploy`
deploys the governance contracts and hands every admin to the timelock."""

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

__all__ = [
    "Call",
    "GovernanceClient",
    "GovernanceConfig",
    "GovernanceRefused",
    "HandoverOutcome",
    "NotAMember",
    "Proposal",
    "ProposalNotReady",
    "ProposalState",
    "Support",
    "hand_over",
    "parse_proposal_id",
    "proposal_label",
]
