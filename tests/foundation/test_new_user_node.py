"""What a new user hits on a node started by hand, run as they run it: the real `ape` and
`medchain` executables in subprocesses, from a folder outside the clone, against anvil as
a separate process, with accounts imported through `ape accounts import` into a fresh
APE_DATA_FOLDER (no test accounts, no project config, no ape `project`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import ROOT
from support.anvil import anvil, free_port
from support.new_user import BIN, BOOK, PASSPHRASE, user_env

# anvil's (and ape's) test mnemonic: account 0 deploys, account 1 relays; one with no ETH.
DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
RELAYER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
RELAYER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
UNFUNDED_KEY = "0x" + "11" * 32


@dataclass
class Node:
    uri: str
    home: Path  # the user's folder outside the clone (cwd of every medchain run)
    env: dict[str, str]  # their environment: PATH, APE_DATA_FOLDER, MEDCHAIN_DEPLOYMENTS
    passphrase_file: Path

    def medchain(self, *args: str, env: dict[str, str] | None = None, **kw):
        return _run([str(BIN / "medchain"), *args], self.home, {**self.env, **(env or {})}, **kw)


def _run(argv, cwd, env, *, timeout=300, stdin=subprocess.DEVNULL, pass_fds=()):
    return subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        pass_fds=pass_fds,
    )


def _import(env: dict[str, str], cwd: Path, alias: str, key: str) -> None:
    """`ape accounts import ALIAS`, answered on stdin (key, passphrase, confirmation)."""
    out = subprocess.run(
        [str(BIN / "ape"), "accounts", "import", alias],
        cwd=cwd,
        env=env,
        input=f"{key}\n{PASSPHRASE}\n{PASSPHRASE}\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.fixture(scope="module")
def node(tmp_path_factory) -> Iterator[Node]:
    """anvil, every contract deployed by `ape run deploy --account deployer` (an imported
    account, passphrase from a file: no prompt answered), and a user folder outside the
    clone whose only knowledge of the deployment is the address book."""
    home = tmp_path_factory.mktemp("user")
    assert ROOT not in home.parents
    env = user_env(home)
    env["MEDCHAIN_DEPLOYMENTS"] = str(home / "deployments")
    for alias, key in (
        ("deployer", DEPLOYER_KEY),
        ("relayer", RELAYER_KEY),
        ("broke", UNFUNDED_KEY),
    ):
        _import(env, home, alias, key)
    passphrase_file = home / "passphrase"
    passphrase_file.write_text(PASSPHRASE + "\n")
    passphrase_file.chmod(0o600)
    with anvil() as uri:
        deploy_env = {
            **env,
            "MEDCHAIN_HOME": str(home / "medchain-home"),
            "MEDCHAIN_PASSPHRASE_FILE": str(passphrase_file),
        }
        out = _run(
            [str(BIN / "ape"), "run", "deploy", "--network", uri, "--account", "deployer"],
            ROOT,
            deploy_env,
            timeout=600,
        )
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        assert "Sign:" not in out.stdout + out.stderr
        assert (home / "deployments" / BOOK / "index.json").is_file()
        yield Node(uri, home, env, passphrase_file)


def _address(node: Node, contract: str) -> str:
    index = json.loads((node.home / "deployments" / BOOK / "index.json").read_text())
    return str(index["contracts"][contract]["address"])


# ------------------------------------------------------------------ 1. gas estimates
# Test accounts (ape's mnemonic, anvil's funded accounts) sign without prompts, so these
# two isolate the gas limit from unattended signing.
CLI_WRITER, SDK_WRITER = 2, 3  # anvil account indices, identities nobody else writes
CLI_WRITER_ADDRESS = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


@pytest.mark.anvil
def test_consecutive_did_writes_through_the_cli(node):
    """Writes to the same identity in consecutive blocks: the second used to be estimated
    against the latest block (where `changed` already equals block.number, a no-op
    SSTORE) and ran out of gas when mined one block later (31,424 estimated, 32,040 used)."""
    results = []
    for i in range(3):
        out = node.medchain(
            "did", "add-service", "Records", f"https://records.example/{i}",
            "--network", node.uri, "--account", f"TEST::{CLI_WRITER}", "--json",
        )  # fmt: skip
        assert out.returncode == 0, out.stdout + out.stderr
        results.append(json.loads(out.stdout))
    blocks = [r["block"] for r in results]
    assert blocks == list(range(blocks[0], blocks[0] + 3))  # back to back, each mined
    shown = node.medchain("did", "show", CLI_WRITER_ADDRESS, "--network", node.uri, "--json")
    assert shown.returncode == 0, shown.stderr
    endpoints = {s["endpoint"] for s in json.loads(shown.stdout)["services"]}
    assert {f"https://records.example/{i}" for i in range(3)} <= endpoints


SDK_SCRIPT = """
import sys
from ape import accounts, networks
from medchain.identity import DIDRegistryClient

with networks.parse_network_choice(sys.argv[1]):
    writer = accounts.test_accounts[int(sys.argv[2])]
    client = DIDRegistryClient.connect(sender=writer)
    blocks = []
    for i in range(2):
        receipt = client.set_attribute(writer, "did/svc/Sdk", f"https://sdk/{i}".encode(), 3600)
        blocks.append(receipt.block_number)
    print(blocks[0], blocks[1], client.changed(writer))
"""


@pytest.mark.anvil
def test_consecutive_did_writes_through_the_sdk(node):
    out = _run([sys.executable, "-c", SDK_SCRIPT, node.uri, str(SDK_WRITER)], node.home, node.env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    first, second, changed = map(int, out.stdout.strip().splitlines()[-1].split())
    assert second == first + 1 and changed == second


# ------------------------------------------------------------------ 2. binding anywhere
@pytest.mark.anvil
def test_commands_bind_contracts_from_the_address_book_outside_the_clone(node):
    """`--registry` and contracts found through another (GenomicLicensing -> its dataset
    token) used ape's `project`, which outside the clone has no contracts."""
    net = ("--network", node.uri)
    did = node.medchain(
        "did", "show", RELAYER, "--registry", _address(node, "DIDRegistry"), *net, "--json"
    )
    assert did.returncode == 0, did.stderr
    assert json.loads(did.stdout)["did"].endswith(RELAYER)
    check = node.medchain(
        "consent", "check", "--patient", RELAYER, "--grantee", RELAYER, "--scope", "Observation",
        "--registry", _address(node, "ConsentRegistry"), *net, "--json",
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    datasets = node.medchain("genomics", "datasets", *net, "--json")
    assert datasets.returncode == 0, datasets.stderr
    assert json.loads(datasets.stdout) == []
    for out in (did, check, datasets):
        assert "Traceback" not in out.stderr and "LocalProject" not in out.stderr


@pytest.mark.anvil
def test_book_is_chosen_by_option_or_environment(node, tmp_path):
    """A user elsewhere points at a book with `--book NAME|PATH`, `MEDCHAIN_BOOK` or
    `MEDCHAIN_DEPLOYMENTS` (root options too)."""
    book_path = node.home / "deployments" / BOOK
    elsewhere = {k: v for k, v in node.env.items() if k != "MEDCHAIN_DEPLOYMENTS"}
    runs = {
        "root options": ("--deployments", str(node.home / "deployments"), "--book", BOOK),
        "root --book PATH": ("--book", str(book_path)),
    }
    for label, root_options in runs.items():
        out = _run(
            [str(BIN / "medchain"), *root_options, "did", "show", RELAYER,
             "--network", node.uri, "--json"],
            tmp_path, elsewhere,
        )  # fmt: skip
        assert out.returncode == 0, f"{label}: {out.stderr}"
    by_env = _run(
        [str(BIN / "medchain"), "genomics", "datasets", "--network", node.uri, "--json"],
        tmp_path,
        {**elsewhere, "MEDCHAIN_BOOK": str(book_path)},
    )
    assert by_env.returncode == 0, by_env.stderr
    listed = _run(
        [str(BIN / "medchain"), "--deployments", str(node.home / "deployments"),
         "deployments", "list", "--json"],
        tmp_path, elsewhere,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert {r["book"] for r in json.loads(listed.stdout)} == {BOOK}
    missing = _run(
        [str(BIN / "medchain"), "did", "show", RELAYER, "--network", node.uri,
         "--book", str(tmp_path / "no-such-book")],
        tmp_path, elsewhere,
    )  # fmt: skip
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: no deployment of DIDRegistry in address book")
    assert "no-such-book" in missing.stderr and missing.stderr.count("\n") == 1


# ------------------------------------------------------------------ 3. unattended signing
@pytest.mark.anvil
def test_imported_account_signs_with_passphrase_from_a_descriptor(node):
    read_end, write_end = os.pipe()
    os.write(write_end, (PASSPHRASE + "\n").encode())
    os.close(write_end)
    try:
        out = node.medchain(
            "did", "add-service", "Fd", "https://fd.example",
            "--network", node.uri, "--account", "relayer", "--json",
            env={"MEDCHAIN_PASSPHRASE_FD": str(read_end)}, pass_fds=(read_end,),
        )  # fmt: skip
    finally:
        os.close(read_end)
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["transaction"].startswith("0x")


@pytest.mark.anvil
def test_imported_account_without_a_passphrase_refuses_in_one_line(node):
    """No terminal and no passphrase: one line on stderr naming the ways to give one;
    nothing on stdout (ape's `Sign: [y/N]` went there before)."""
    out = node.medchain(
        "did", "add-service", "X", "https://x.example",
        "--network", node.uri, "--account", "relayer", "--json",
    )  # fmt: skip
    assert out.returncode == 1
    assert out.stdout == ""
    assert (
        out.stderr.strip()
        .splitlines()[-1]
        .startswith("error: an imported account needs its passphrase to sign")
    )
    assert "MEDCHAIN_PASSPHRASE_FILE" in out.stderr and "Traceback" not in out.stderr
    wrong = node.medchain(
        "did", "add-service", "X", "https://x.example",
        "--network", node.uri, "--account", "relayer",
        env={"APE_ACCOUNTS_relayer_PASSPHRASE": "not it"},
    )  # fmt: skip
    assert wrong.returncode == 1 and wrong.stdout == ""
    assert wrong.stderr.strip() == (
        "error: the passphrase given for account 'relayer' does not decrypt its key file"
    )


# ------------------------------------------------------------------ 10. one-line failures
@pytest.mark.anvil
def test_unfunded_account_is_told_insufficient_funds(node):
    out = node.medchain(
        "did", "add-service", "X", "https://x.example",
        "--network", node.uri, "--account", "broke",
        env={"MEDCHAIN_PASSPHRASE_FILE": str(node.passphrase_file)},
    )  # fmt: skip
    assert out.returncode == 1 and out.stdout == ""
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("error: insufficient funds: account 0x"), out.stderr
    assert "has 0 wei" in last and "Out of gas" not in out.stderr


@pytest.mark.anvil
def test_unfunded_deployer_is_told_insufficient_funds(node):
    """The deploy pipeline says the same as every command (it said 'Gas estimation failed:
    Out of gas: gas required exceeds allowance: 0'). The roles file names SerialRegistry's
    registrar and regulator, so the plan passes its preflight and reaches the first send."""
    roles = node.home / "broke-roles.toml"
    roles.write_text(
        '[SerialRegistry]\nREGISTRAR_ROLE = ["relayer"]\n'
        'REGULATOR_ROLE = ["0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"]\n'
    )
    out = _run(
        [str(BIN / "ape"), "run", "deploy", "--network", node.uri, "--account", "broke",
         "--book", "broke-book", "--roles", str(roles)],
        ROOT,
        {**node.env, "MEDCHAIN_HOME": str(node.home / "broke-home"),
         "MEDCHAIN_PASSPHRASE_FILE": str(node.passphrase_file)},
        timeout=600,
    )  # fmt: skip
    assert out.returncode == 1 and "Traceback" not in out.stdout + out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("error: insufficient funds: account 0x"), out.stderr
    assert not (node.home / "deployments" / "broke-book" / "index.json").exists()


def test_node_down_is_one_line_for_deploy_and_cli(tmp_path):
    uri = f"http://127.0.0.1:{free_port()}"
    env = user_env(tmp_path)
    deploy = _run(
        [str(BIN / "ape"), "run", "deploy", "--network", uri, "--account", "TEST::0"],
        ROOT,
        {**env, "MEDCHAIN_HOME": str(tmp_path / "h"), "MEDCHAIN_DEPLOYMENTS": str(tmp_path)},
    )
    assert deploy.returncode == 1
    assert deploy.stdout == ""
    assert deploy.stderr.strip() == f"error: cannot reach {uri}: is the node running?"
    show = _run([str(BIN / "medchain"), "did", "show", RELAYER, "--network", uri], tmp_path, env)
    assert show.returncode == 1 and show.stdout == ""
    assert show.stderr.strip() == f"error: cannot reach {uri}: is the node running?"


def test_without_network_the_in_process_chain_is_named(tmp_path):
    out = _run([str(BIN / "medchain"), "did", "show", RELAYER], tmp_path, user_env(tmp_path))
    assert out.returncode == 1 and out.stdout == ""
    line = out.stderr.strip()
    assert line.count("\n") == 0 and "was the chain reset" not in line
    assert "no address book exists for it" in line and "--network" in line


def test_version_flag(tmp_path):
    from medchain import __version__

    for flag in ("-V", "--version"):
        out = _run([str(BIN / "medchain"), flag], tmp_path, user_env(tmp_path))
        assert out.returncode == 0
        assert out.stdout.strip() == f"medchain, version {__version__}"


# ------------------------------------------------------------------ dev fund
@pytest.mark.anvil
def test_dev_fund_tops_up_roles_a_hand_started_node_left_empty(tmp_path):
    """anvil funds 10 accounts; the demo has more roles. `medchain dev fund` pays the rest
    from the deployer (role 0), and a second run has nothing to do."""
    from medchain.demo import ROLES

    env = user_env(tmp_path)
    with anvil() as uri:
        first = _run(
            [str(BIN / "medchain"), "dev", "fund", "--network", uri, "--json"], tmp_path, env
        )
        assert first.returncode == 0, first.stderr
        rows = json.loads(first.stdout)
        assert [r["role"] for r in rows] == list(ROLES)
        assert [r["role"] for r in rows if r["funded"]] == list(ROLES[10:])
        again = _run(
            [str(BIN / "medchain"), "dev", "fund", "--network", uri, "--json"], tmp_path, env
        )
        assert again.returncode == 0, again.stderr
        assert not any(r["funded"] for r in json.loads(again.stdout))
