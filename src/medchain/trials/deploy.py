"""Deploy spec of the clinical-trials domain: one TrialRegistry, no constructor arguments.

Trials are registered by their sponsors after deployment, so there is nothing to wire.
"""

from __future__ import annotations

from medchain.deploy import ContractSpec

SPECS = [ContractSpec(name="TrialRegistry")]
