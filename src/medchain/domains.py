"""The explicit list of domains: which packages hold a deploy spec, a demo step and a
CLI, and in what order. Nothing is discovered by scanning packages; a new domain is
added here.

Each domain `medchain.<name>` holds `deploy.py` (`SPECS: list[ContractSpec]`),
`demo.py` (`run(ctx: DemoContext)`) and `cli.py` (`COMMANDS: list[click.Group]`).
Services are packages with a CLI but no contracts of their own.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# Deploy ties and demo steps follow this order: identity first (everyone needs DIDs),
# records before consent (the consent demo reads the lab result records anchored);
# governance last: its contracts take over every other contract's admin (they are
# deployed only by a governed deploy: ContractSpec.governance), and its demo step hands
# the admins over after the other steps have used the deployer's.
DOMAINS: tuple[str, ...] = (
    "identity", "records", "consent", "supply", "trials", "genomics", "zk", "governance",
)  # fmt: skip

# Packages with command groups but no contracts.
SERVICES: tuple[str, ...] = ("gateway", "network")


def part(domain: str, name: str) -> ModuleType:
    """Import `medchain.<domain>.<name>` (name: 'deploy', 'demo' or 'cli')."""
    return importlib.import_module(f"medchain.{domain}.{name}")
