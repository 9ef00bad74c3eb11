"""One node for every test in tests/docs: anvil as a separate process, accounts imported
into a fresh APE_DATA_FOLDER (the deployer through `ape accounts import`, answered on
stdin), every contract deployed by `ape run deploy --network URI --account deployer
--roles roles.toml` with the passphrase from a file, and a user folder outside the clone
whose only knowledge of the deployment is the address book."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ape

from support import ROOT
from support.anvil import anvil
from support.new_user import BIN, PASSPHRASE, user_env

# The deploy's roles file, as docs/consent.md shows it.
ROLES_TOML = """\
[ConsentRegistry]
EMERGENCY_APPROVER_ROLE = ["approver1", "approver2", "approver3"]
CLINICIAN_ROLE = ["provider"]
PRIVACY_OFFICER_ROLE = ["privacy_officer"]

[GenomicDataset]
PRODUCER_ROLE = ["lab"]
"""
IMPORT_SCRIPT = """
import sys
from ape_accounts import import_account_from_private_key
from ape.utils import generate_dev_accounts
from ape import accounts
from medchain.demo import ROLES

container = accounts.test_accounts
keys = generate_dev_accounts(container.mnemonic, len(ROLES), hd_path=container.containers["test"].hd_path)
for role, key in zip(ROLES, keys):
    if role != "deployer":
        import_account_from_private_key(role, sys.argv[1], key.private_key)
"""


@dataclass
class UserNode:
    uri: str
    home: Path  # the user's folder (HOME and cwd), outside the clone
    env: dict[str, str]  # their environment, with the placeholders the docs use
    passphrase_file: Path

    def run(self, argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:  # fmt: skip
        return subprocess.run(
            argv, cwd=cwd or self.home, env={**self.env, **(env or {})}, capture_output=True,
            text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def medchain(self, *args: str, **kw) -> subprocess.CompletedProcess[str]:
        return self.run([str(BIN / "medchain"), *args], **kw)


@ape.fixture(scope="session", chain_isolation=False)  # its own anvil, not the session chain
def user_node(tmp_path_factory) -> Iterator[UserNode]:
    home = tmp_path_factory.mktemp("newuser")
    assert ROOT not in home.parents
    env = user_env(home)
    out = subprocess.run(
        [str(BIN / "ape"), "accounts", "import", "deployer"],
        cwd=home, env=env, capture_output=True, text=True, timeout=120,
        input=f"0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80\n"
        f"{PASSPHRASE}\n{PASSPHRASE}\n",
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_SCRIPT, PASSPHRASE],
        cwd=home, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    secrets = home / "secrets"
    secrets.mkdir()
    for name in ("deployer", "agent", "passphrase"):
        (secrets / name).write_text(PASSPHRASE + "\n")
        (secrets / name).chmod(0o600)
    roles = home / "roles.toml"
    roles.write_text(ROLES_TOML)
    with anvil() as uri:
        env.update(
            NODE=uri,
            CLONE=str(ROOT),
            SECRETS=str(secrets),
            MEDCHAIN_DEPLOYMENTS=str(home / "deployments"),
            MEDCHAIN_PASSPHRASE_FILE=str(secrets / "passphrase"),
        )
        node = UserNode(uri, home, env, secrets / "passphrase")
        deploy = node.run(
            [str(BIN / "ape"), "run", "deploy", "--network", uri, "--account", "deployer",
             "--roles", str(roles)],
            cwd=ROOT, env={"MEDCHAIN_HOME": str(home / "deploy-home")}, timeout=600,
        )  # fmt: skip
        assert deploy.returncode == 0, deploy.stdout[-3000:] + deploy.stderr[-3000:]
        assert "Sign:" not in deploy.stdout + deploy.stderr
        assigned = sum(
            len(m) for table in tomllib.loads(ROLES_TOML).values() for m in table.values()
        )
        assert (
            f"{assigned} role assignments from {roles}: {assigned} sent, 0 already held"
            in deploy.stdout
        )
        fund = node.medchain("dev", "fund", "--network", uri, "--json")
        assert fund.returncode == 0, fund.stderr
        node.deploy_output = deploy.stdout  # type: ignore[attr-defined]
        yield node
