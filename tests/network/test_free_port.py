"""free_port: loopback ports for daemons started later, inside MEDCHAIN_PORT_RANGE when it
is set (the suite's parallel lanes get disjoint halves), never twice per process, and a
port something listens on is never handed out."""

from __future__ import annotations

import socket

import pytest

from medchain.errors import ConfigurationError
from medchain.network.clique import free_port


def test_ports_stay_in_the_range_and_are_never_handed_out_twice(monkeypatch):
    monkeypatch.setenv("MEDCHAIN_PORT_RANGE", "29100-29139")
    ports = [free_port() for _ in range(30)]
    assert all(29_100 <= p <= 29_139 for p in ports)
    assert len(set(ports)) == 30


def test_a_listening_port_is_skipped(monkeypatch):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        assert 1024 < port < 65_535
        monkeypatch.setenv("MEDCHAIN_PORT_RANGE", f"{port}-{port + 1}")
        assert free_port() == port + 1  # the only other port of the range


@pytest.mark.parametrize("spec", ["20000", "30000-20000", "80-9000", "a-b", "20000-70000"])
def test_a_malformed_range_is_refused_in_one_line(monkeypatch, spec):
    monkeypatch.setenv("MEDCHAIN_PORT_RANGE", spec)
    with pytest.raises(ConfigurationError, match="MEDCHAIN_PORT_RANGE must be LOW-HIGH"):
        free_port()
