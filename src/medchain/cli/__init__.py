"""The `medchain` command line: the root group `cli` and its entry point `main`
(`medchain.cli.root`, which gathers every domain's command groups), shared options
(`medchain.cli.options`) and output (`medchain.cli.render`).

A refusal prints one line (`error: ...`) on stderr and exits 1; no traceback for
user errors. `MEDCHAIN_DEBUG=1` shows the traceback when you need it. stdout carries
results only: ape's log lines and account prompts go to stderr.
"""

from __future__ import annotations

from typing import Any

__all__ = ["cli", "main"]


def __getattr__(name: str) -> Any:
    """`cli` and `main` come from `medchain.cli.root`, imported on first use: importing
    `medchain.cli.options` (as every domain CLI does) must not register the domains,
    which would import a domain CLI that is still being imported."""
    if name in __all__:
        from medchain.cli import root

        return getattr(root, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
