"""Why a geth node stopped, read from its log: a Go panic's own line rather than the
last frame of its stack trace (which is all CI showed when a node died at start)."""

from __future__ import annotations

from medchain.network.clique import _exit_reason

PANIC_TAIL = """\
INFO [12-01|05:46:40.120] Started P2P networking                   self=enode://63...@127.0.0.1:24179
panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x1a2b3c]

goroutine 1 [running]:
github.com/ethereum/go-ethereum/p2p.(*Server).run(0xc000180000)
\tgithub.com/ethereum/go-ethereum@v1.13.15/p2p/server.go:741 +0x45
main.main()
\tgithub.com/ethereum/go-ethereum@v1.13.15/cmd/geth/main.go:270 +0x45
"""


def test_a_panic_is_reported_by_its_own_line(tmp_path):
    log = tmp_path / "geth.log"
    log.write_text(PANIC_TAIL)
    assert _exit_reason(log) == (
        "panic: runtime error: invalid memory address or nil pointer dereference"
    )


def test_a_fatal_line_is_reported_when_geth_refuses_to_start(tmp_path):
    log = tmp_path / "geth.log"
    log.write_text(
        "INFO [12-01|05:46:39.001] Starting Geth on Ethereum mainnet...\n"
        "Fatal: Error starting protocol stack: listen tcp 127.0.0.1:31797: bind: address already in use\n"
    )
    assert _exit_reason(log).startswith("Fatal: Error starting protocol stack")


def test_a_log_without_a_crash_gives_its_last_line_and_a_missing_log_says_so(tmp_path):
    log = tmp_path / "geth.log"
    log.write_text("INFO a\nINFO stopped\n\n")
    assert _exit_reason(log) == "INFO stopped"
    assert _exit_reason(tmp_path / "absent.log") == "no log"
