"""The Clique genesis medchain writes: signers in extradata, London rules without Shanghai
(geth refuses Shanghai on Clique), the demo's role accounts funded, chain id fixed."""

from __future__ import annotations

from medchain.demo import dev_role_accounts
from medchain.network import CHAIN_ID, clique_extradata, clique_genesis
from medchain.network.evm import required_opcodes

SIGNERS = [
    "0x00000000000000000000000000000000000000c3",
    "0x00000000000000000000000000000000000000A1",
    "0x00000000000000000000000000000000000000b2",
]


def test_extradata_is_vanity_sorted_signers_and_seal():
    extra = bytes.fromhex(clique_extradata(SIGNERS)[2:])
    assert len(extra) == 32 + 3 * 20 + 65
    assert extra[:32] == bytes(32) and extra[-65:] == bytes(65)
    body = extra[32:-65]
    assert [body[i : i + 20][-1] for i in range(0, 60, 20)] == [0xA1, 0xB2, 0xC3]


def test_genesis_funds_every_role_and_stops_at_london():
    roles = dev_role_accounts()
    genesis = clique_genesis(SIGNERS, [str(a.address) for a in roles.values()], period=2)
    config = genesis["config"]
    assert config["chainId"] == CHAIN_ID == 6334
    assert config["clique"] == {"period": 2, "epoch": 30_000}
    assert config["londonBlock"] == 0 and config["grayGlacierBlock"] == 0
    assert not any(k.endswith("Time") for k in config)  # no Shanghai/Cancun: Clique rules
    for role, account in roles.items():
        assert int(genesis["alloc"][str(account.address).lower()]["balance"], 16) >= 10**21, role
    assert int(genesis["gasLimit"], 16) == 30_000_000


def test_paris_needs_no_post_london_opcode_and_shanghai_needs_push0():
    assert required_opcodes("paris") == []
    assert required_opcodes("shanghai") == ["PUSH0"]
    assert {"TSTORE", "MCOPY", "PUSH0"} <= set(required_opcodes("cancun"))
