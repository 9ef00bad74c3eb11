"""The governance demo step against the full deploy plan: the governance contracts are
deployed and every admin handed over, 2 of 3 members pass the admin acceptances and a
clinician accreditation, member 3's lone proposal is refused, an early execute is refused,
and the former deployer's direct admin call is refused; running it again (the demo on a
persistent chain) deploys nothing and withdraws the accreditation."""

from __future__ import annotations

import importlib

from rich.console import Console

from medchain.demo import DemoContext


def test_demo_step(deployed, roles, book_dir, tmp_path):
    import shutil

    from medchain.deployments import AddressBook

    # a copy of the session's book: the step adds the governance contracts to it
    shutil.copytree(book_dir / "session", tmp_path / "book")
    step = importlib.import_module("medchain.governance.demo")
    console = Console(record=True, width=240)
    ctx = DemoContext(
        console=console, accounts=roles, contracts=dict(deployed.contracts),
        book=AddressBook(tmp_path / "book"),
    )  # fmt: skip
    step.run(ctx)
    text = console.export_text()
    for needle in (
        "RecordRegistry: admin handed over",
        "ConsentRegistry: admin transfer started",
        "2 of 3 members approve",
        "is Defeated: 1 for (2 needed), 0 against; cannot queue it",
        "is Queued: executable from",
        "ConsentRegistry admin: the timelock; investigator is a clinician: True",
        "deployer refused RecordRegistry refused: AccessControlUnauthorizedAccount",
    ):
        assert needle in text, text
    consent = ctx.contracts["ConsentRegistry"]
    clinician = consent.CLINICIAN_ROLE()
    assert consent.hasRole(clinician, roles["investigator"].address)

    console = Console(record=True, width=240)
    step.run(DemoContext(console, roles, ctx.contracts, ctx.book))
    again = console.export_text()
    assert "nothing deployed" in again and "handed over" not in again, again
    assert "grantRole" not in again and "revokeRole(CLINICIAN_ROLE" in again, again
    assert not consent.hasRole(clinician, roles["investigator"].address)
