"""Shared constants and the trial set-up of the trials tests (imported by conftest and tests)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from medchain.trials import Role, TrialsClient, document_hash, outcomes_hash

SITE_A = 101
SITE_B = 202
PRIMARY = ["All-cause mortality at 28 days"]
SECONDARY = ["Days alive and free of ventilation at 28 days", "ICU length of stay"]
PROTOCOL_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


@dataclass
class TrialFixture:
    client: TrialsClient
    trial_id: int
    registry_id: str


_counter = iter(range(1, 1_000_000))


def register_trial(
    client: TrialsClient,
    sponsor: Any,
    ethics: Any,
    investigator: Any,
    investigator2: Any,
    monitor: Any,
    *,
    board: Sequence[Any] = (),
    threshold: int | None = None,
) -> TrialFixture:
    """A registered trial with sites A and B and a monitor; the ethics board is `ethics`
    alone (1 of 1) unless `board` names more members (then `threshold` of them decide)."""
    registry_id = f"NCT{next(_counter):08d}"
    trial_id = client.register(
        registry_id,
        document_hash(b"protocol v1 " + registry_id.encode()),
        PROTOCOL_CID,
        outcomes_hash(PRIMARY, SECONDARY),
        [ethics, *board],
        threshold=threshold,
        sender=sponsor,
    )
    client.grant_role(trial_id, investigator, Role.INVESTIGATOR, SITE_A, sender=sponsor)
    client.grant_role(trial_id, investigator2, Role.INVESTIGATOR, SITE_B, sender=sponsor)
    client.grant_role(trial_id, monitor, Role.MONITOR, sender=sponsor)
    return TrialFixture(client, trial_id, registry_id)
