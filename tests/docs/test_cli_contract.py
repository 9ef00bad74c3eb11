"""What every command promises a new user: `--json` accepted everywhere (valid JSON on
stdout), one line naming the file for malformed input, roles by name, deploy roles from a
file, FHIR DIDs of the connected chain."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from medchain.cli import cli
from medchain.consent import Grant, WrongChainDID, export_consent, import_consent

PATIENT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
GRANTEE = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def _commands(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def test_every_command_accepts_json():
    missing = [
        " ".join(path)
        for path, command in _commands(cli)
        if not any("--json" in p.opts for p in command.params)
    ]
    assert missing == []
    assert len(list(_commands(cli))) > 80


def test_json_is_remembered_per_run_not_per_process():
    """`--json` of one invocation does not leak into the next in the same process (the
    flag lives in the click context, not in a module global)."""
    runner = CliRunner(mix_stderr=False)
    as_json = runner.invoke(cli, ["zk", "criteria", "--type", "vaccination", "--json"])
    assert as_json.exit_code == 0, as_json.stderr
    assert json.loads(as_json.stdout)["hash"].startswith("0x")
    shown = runner.invoke(cli, ["address", "TEST::1"])
    assert shown.exit_code == 0, shown.stderr
    assert not shown.stdout.lstrip().startswith("[")  # text, not JSON
    assert runner.invoke(cli, ["address", "TEST::1", "--json"]).stdout.lstrip().startswith("[")


@pytest.mark.anvil
def test_one_command_of_every_group_prints_valid_json(user_node, tmp_path):
    """The real `medchain` executable, `--json` on a command of every top-level group:
    stdout is one JSON document (or empty on a refusal, with one line on stderr), whatever
    the account type signs (an imported account unlocked from a passphrase file, a test
    account): prompts and ape's lines never reach stdout."""
    net = ("--network", user_node.uri)
    db = f"sqlite:///{tmp_path / 'index.db'}"
    runs = [
        ("deployments", "list"),
        ("address", "patient", "provider"),
        ("dev", "fund", "--amount", "0", *net, "--account", "TEST::0"),
        ("did", "show", PATIENT, *net),
        ("did", "resolve", f"did:ethr:0x7a69:{PATIENT}", *net),
        ("record", "list", "--patient", PATIENT, *net),
        ("consent", "check", "--patient", PATIENT, "--grantee", GRANTEE, "--scope", "*", *net),
        ("consent", "grant", "--grantee", GRANTEE, "--scope", "Observation", "--until", "+1d",
         *net, "--account", "patient"),  # an imported account, unlocked from a file
        ("consent", "revoke", "--grantee", GRANTEE, "--scope", "Observation", *net,
         "--patient", PATIENT, "--account", "TEST::1"),  # a test account, same patient
        ("consent", "audit", "--patient", PATIENT, *net),
        ("breakglass", "status", *net),
        ("supply", "history", "00614141523412:NOPE", *net),  # refused: no such lot
        ("supply", "recall", "--gtin", "00614141523412", "--lot", "NOPE", *net,
         "--account", "patient"),  # refused: stdout stays empty, stderr one line
        ("trial", "show", "1", *net),
        ("genomics", "offers", *net),
        ("zk", "criteria", "--type", "vaccination", "--any-of", "J07BX03"),
        ("index", "status", "--db", db, *net),
        ("gateway", "subscriptions", "--db", db),
        ("network", "probe", "--url", user_node.uri),
        ("admin", "members", *net),  # refused on this ungoverned node: one line
    ]  # fmt: skip
    assert {argv[0] for argv in runs} == set(cli.commands)
    for argv in runs:
        out = user_node.medchain(*argv, "--json")
        assert "Traceback" not in out.stderr, (argv, out.stderr)
        if out.returncode == 0:
            json.loads(out.stdout)
        else:
            assert out.stdout == "" and len(out.stderr.strip().splitlines()) == 1, (argv, out)


@pytest.mark.anvil
def test_malformed_files_are_one_line_naming_the_file(user_node, tmp_path):
    net = ("--network", user_node.uri)
    scan = "(01)00614141523412(21)SN1(10)LOT1(17)281130"
    bad_json = tmp_path / "LOT1.manifest.json"
    bad_json.write_text('{"manifest": {"format": ')
    not_manifest = tmp_path / "other.json"
    not_manifest.write_text('{"hello": 1}')
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00")
    signed = tmp_path / "grant.json"
    signed.write_text("[1, 2]")
    cases = [
        (("supply", "verify", scan, "--manifest", str(bad_json), *net), str(bad_json)),
        (("supply", "verify", scan, "--manifest", str(not_manifest), *net), str(not_manifest)),
        (("supply", "verify", scan, "--manifest", str(binary), *net), str(binary)),
        (("supply", "verify", scan, "--proof", "0xzz,0x12", *net), "--proof"),
        (("consent", "relay", str(signed), *net, "--account", "provider"), str(signed)),
        (("consent", "import", str(bad_json), "--dry-run", *net), str(bad_json)),
    ]
    for argv, named in cases:
        out = user_node.medchain(*argv)
        lines = out.stderr.strip().splitlines()
        assert out.returncode == 1 and "Traceback" not in out.stderr, (argv, out.stderr)
        assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0], (
            argv,
            out.stderr,
        )


def test_fhir_export_names_the_chain_and_import_checks_it():
    grant = Grant(PATIENT, GRANTEE, "Observation", 1, 1)
    exported = export_consent([grant], when=0, chain_id=31337)
    text = json.dumps(exported)
    assert f"did:ethr:0x7a69:{PATIENT}" in text and f"did:ethr:0x7a69:{GRANTEE}" in text
    assert import_consent(exported, chain_id=31337) == [grant]
    mainnet_form = json.loads(text.replace("did:ethr:0x7a69:", "did:ethr:"))
    assert import_consent(mainnet_form, chain_id=1) == [grant]
    with pytest.raises(
        WrongChainDID, match="names an identity on chain 1, but the connected chain is 31337"
    ):
        import_consent(mainnet_form, chain_id=31337)
    with pytest.raises(WrongChainDID, match="on chain 31337, but the connected chain is 1"):
        import_consent(exported, chain_id=1)


def test_roles_file_refusals_name_the_role(tmp_path):
    from medchain.deploy import load_roles
    from medchain.errors import ConfigurationError

    cases = {
        '[ConsentRegistry]\nNURSE_ROLE = ["provider"]\n': "ConsentRegistry has no role 'NURSE_ROLE'",
        '[Nope]\nX_ROLE = ["a"]\n': "unknown contract 'Nope'",
        '[ConsentRegistry]\nDEFAULT_ADMIN_ROLE = ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"]\n':
            "ConsentRegistry.DEFAULT_ADMIN_ROLE: the default admin is the deployer",
        '[ConsentRegistry]\nCLINICIAN_ROLE = ["no-such-alias"]\n':
            "ConsentRegistry.CLINICIAN_ROLE: 'no-such-alias' is neither an address",
        '[ConsentRegistry]\nCLINICIAN_ROLE = ["0x1234"]\n': "'0x1234' is not an Ethereum address",
        "[ConsentRegistry\n": "not valid TOML",
    }  # fmt: skip
    for text, expected in cases.items():
        path = tmp_path / "roles.toml"
        path.write_text(text)
        with pytest.raises(ConfigurationError, match=expected.replace("(", r"\(")) as err:
            load_roles(path)
        assert "\n" not in str(err.value) and str(path) in str(err.value)
    ok = tmp_path / "roles.yaml"
    ok.write_text(
        f"ConsentRegistry:\n  CLINICIAN_ROLE: [{PATIENT}]\nGenomicDataset:\n  PRODUCER_ROLE: TEST::4\n"
    )
    grants = load_roles(ok)
    assert [(g.contract, g.role, g.address) for g in grants] == [
        ("ConsentRegistry", "CLINICIAN_ROLE", PATIENT),
        ("GenomicDataset", "PRODUCER_ROLE", "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"),
    ]


def test_refusals_name_roles_not_hashes():
    from eth_utils import keccak

    from medchain.errors import ContractRevert

    for name in ("CLINICIAN_ROLE", "PRODUCER_ROLE", "REGULATOR_ROLE"):
        err = ContractRevert("X", "AccessControlUnauthorizedAccount",
                             {"account": PATIENT, "neededRole": keccak(text=name)})  # fmt: skip
        assert f"neededRole={name}" in str(err)
