"""A geth node that cannot start: `Network.start` reports it in one line with geth's own
reason (its Fatal line, not the last line of a stack trace) and the log's path; the nodes
that did start are left to `destroy`."""

from __future__ import annotations

import pytest

from medchain.network import create
from medchain.network.clique import NodeExited
from support.geth import own_network

pytestmark = pytest.mark.geth

NAME = "brokenstart"


def test_a_node_that_cannot_start_is_reported_by_its_fatal_line(
    tmp_path_factory,
):
    with own_network(tmp_path_factory, NAME):
        network = create(NAME, signers=2, base_port=None)
        log = network.node_dir(1) / "geth.log"
        (network.node_dir(1) / "config.toml").write_text("[Node]\nNoSuchSetting = 1\n")
        with pytest.raises(NodeExited) as refused:
            network.start(timeout=60)
        message = str(refused.value)
        assert message.startswith("node1 exited while waiting for node1 to answer on http://")
        assert "Fatal: " in message and "NoSuchSetting" in message, message
        assert message.endswith(f"(log: {log})")
        assert log.read_text().count("Fatal: ") == 1
        assert network.running(network.nodes[0])  # the other node runs until destroy
