"""Every hypothesis setting of the suite, in one place. `property_settings` for plain
@given tests; for the state machines, their depth: a small profile in `make test` (CI budget on
2 cores), the full one under `make fuzz` (MEDCHAIN_FUZZ=1: >= 1,000 examples x 50 steps
per machine, recorded in bench/results/fuzz.json by tests/conftest.py).

Every state machine takes its settings from `machine_settings` and is marked
`@pytest.mark.statemachine`, so `make fuzz` finds all of them and nothing else.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

FUZZ = os.environ.get("MEDCHAIN_FUZZ") == "1"
FUZZ_EXAMPLES = int(os.environ.get("MEDCHAIN_FUZZ_EXAMPLES", "1000"))
FUZZ_STEPS = int(os.environ.get("MEDCHAIN_FUZZ_STEPS", "50"))


def machine_settings(ci_examples: int, ci_steps: int) -> settings:
    """`ci_examples` x `ci_steps` in the test suite, the fuzz depth under `make fuzz`."""
    examples, steps = (FUZZ_EXAMPLES, FUZZ_STEPS) if FUZZ else (ci_examples, ci_steps)
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=not FUZZ,  # CI reproducible; fuzz explores new seeds each run
    )


def property_settings(examples: int) -> settings:
    """Settings of a plain @given property test: `examples` cases, no per-example deadline
    (the first example pays for imports and caches, and 2 shared cores make timings noisy)."""
    return settings(max_examples=examples, deadline=None)
