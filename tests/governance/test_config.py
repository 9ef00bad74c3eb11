"""The governance file `ape run deploy --governance FILE` reads: members, M and timings,
with one-line refusals naming the file; M is checked against the founding members."""

from __future__ import annotations

import re

import pytest

from medchain.deploy import DeployContext
from medchain.errors import ConfigurationError
from medchain.governance import GovernanceConfig
from medchain.timeutil import DAY


def _file(tmp_path, text: str):
    path = tmp_path / "consortium.toml"
    path.write_text(text)
    return path


def test_a_governance_file_is_read_with_safe_defaults(tmp_path, deployer, member1, member2):
    path = _file(
        tmp_path, '[governance]\nmembers = ["TEST::20", "TEST::21"]\nvoting_period = "2d"\n'
    )
    config = GovernanceConfig.from_file(path)
    assert (config.min_approvals, config.voting_period, config.timelock_delay) == (
        2,
        2 * DAY,
        2 * DAY,
    )
    assert config.member_addresses(DeployContext(deployer)) == [
        str(member1.address),
        str(member2.address),
    ]


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        ("[other]\n", "expected a [governance] table"),
        ("[governance]\nquorum = 2\n", "unknown key(s) quorum"),
        ('[governance]\nvoting_period = "soon"\n', "voting_period"),
        ("[governance]\nmembers = 3\n", "members must be a list"),
        ("[governance\n", "not valid TOML"),
    ],
)
def test_a_bad_governance_file_is_refused_in_one_line(tmp_path, text, refusal):
    path = _file(tmp_path, text)
    with pytest.raises(ConfigurationError, match=re.escape(refusal)) as err:
        GovernanceConfig.from_file(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_more_approvals_than_founders_is_refused(tmp_path, deployer):
    path = _file(tmp_path, '[governance]\nmembers = ["TEST::20"]\nmin_approvals = 2\n')
    with pytest.raises(ConfigurationError, match="2 approvals asked of 1 founding member"):
        GovernanceConfig.from_file(path).member_addresses(DeployContext(deployer))
