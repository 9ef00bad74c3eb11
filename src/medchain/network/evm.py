"""What a node's EVM runs, found by running it: before deploying, `eth_call` a few bytes of
creation code that use each opcode the compiled contracts may contain.

A consortium chain often runs older rules than Ethereum mainnet: geth 1.13.15 Clique stops
at London/Paris (no PUSH0, TSTORE/TLOAD, MCOPY, BLOBHASH, BLOBBASEFEE), and a Besu network
has whatever milestones its genesis names. Bytecode compiled for a newer `evm_version`
then fails at its first new opcode, often deep inside a constructor with an unhelpful
"invalid opcode". `require_evm_support` turns that into one line naming the opcode and the
setting to change, before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable

from medchain.errors import ConfigurationError
from medchain.network.rpc import rpc

# Creation code that executes one opcode and stops (return data is irrelevant).
PROBES: dict[str, str] = {
    "PUSH0": "0x5f5ff3",  # PUSH0 PUSH0 RETURN
    "TLOAD": "0x60005c5000",  # PUSH1 0 TLOAD POP STOP
    "TSTORE": "0x600160005d00",  # PUSH1 1 PUSH1 0 TSTORE STOP
    "MCOPY": "0x6000600060005e00",  # PUSH1 0 x3 MCOPY STOP
    "BLOBHASH": "0x6000495000",  # PUSH1 0 BLOBHASH POP STOP
    "BLOBBASEFEE": "0x4a5000",  # BLOBBASEFEE POP STOP
}
CONTROL = "0x00"  # STOP: runs on every EVM; if it fails, the node cannot be probed
ZERO = "0x" + "00" * 20  # the probe's sender (some providers require one)

# The fork that introduced each opcode, and solc's evm_version order.
INTRODUCED = {
    "PUSH0": "shanghai",
    "TLOAD": "cancun",
    "TSTORE": "cancun",
    "MCOPY": "cancun",
    "BLOBHASH": "cancun",
    "BLOBBASEFEE": "cancun",
}
EVM_VERSIONS = (
    "homestead",
    "tangerineWhistle",
    "spuriousDragon",
    "byzantium",
    "constantinople",
    "petersburg",
    "istanbul",
    "berlin",
    "london",
    "paris",
    "shanghai",
    "cancun",
    "prague",
    "osaka",
)
RECOMMENDED = "paris"  # see docs/network.md: the newest profile every consortium client runs


class UnsupportedOpcode(ConfigurationError):
    """The node's EVM lacks an opcode that contracts compiled for the configured
    `evm_version` contain."""


def required_opcodes(evm_version: str) -> list[str]:
    """The probed opcodes that solc may emit for `evm_version` (none up to paris)."""
    if evm_version not in EVM_VERSIONS:
        raise ConfigurationError(
            f"unknown solidity.evm_version '{evm_version}' (expected one of {', '.join(EVM_VERSIONS)})"
        )
    level = EVM_VERSIONS.index(evm_version)
    return [op for op, fork in INTRODUCED.items() if EVM_VERSIONS.index(fork) <= level]


Caller = Callable[[str], None]  # runs creation code with eth_call; raises when it fails


def rpc_caller(url: str) -> Caller:
    def call(code: str) -> None:
        rpc(url, "eth_call", {"from": ZERO, "data": code, "gas": hex(100_000)}, "latest")

    return call


def ape_caller() -> Caller:
    """eth_call through the provider ape is connected to."""
    from ape import networks

    def call(code: str) -> None:
        networks.provider.make_request(
            "eth_call", [{"from": ZERO, "data": code, "gas": hex(100_000)}, "latest"]
        )

    return call


def supported_opcodes(call: Caller, opcodes: list[str] | None = None) -> dict[str, bool]:
    """{opcode: runs} for each probed opcode (all by default)."""
    try:
        call(CONTROL)
    except Exception as exc:  # any failure here means no verdict is possible
        raise ConfigurationError(
            f"cannot probe the node's EVM (eth_call of STOP failed: {exc})"
        ) from exc
    result = {}
    for op in opcodes if opcodes is not None else list(PROBES):
        try:
            call(PROBES[op])
            result[op] = True
        except Exception:  # the control call ran, so this failure is the opcode's
            result[op] = False
    return result


def require_evm_support(evm_version: str, call: Caller | None = None, where: str = "") -> None:
    """Refuse (UnsupportedOpcode, one line) when the node lacks an opcode that bytecode
    compiled for `evm_version` may use. Probes nothing for paris and older."""
    needed = required_opcodes(evm_version)
    if not needed:
        return
    if call is None:
        from ape import networks

        from medchain.deployments import connected_to_in_process_chain

        if connected_to_in_process_chain():
            return  # py-evm inside this process runs the newest fork ape configures
        provider = networks.provider
        where = where or f" at {getattr(provider, 'uri', None) or provider.network.choice}"
    try:
        runs = supported_opcodes(call or ape_caller(), needed)
    except ConfigurationError:
        return  # the node cannot run even STOP through eth_call: no verdict, let it deploy
    missing = [op for op, ok in runs.items() if not ok]
    if missing:
        ops = ", ".join(f"{op} ({INTRODUCED[op]})" for op in missing)
        raise UnsupportedOpcode(
            f"the node{where} does not run {ops}, which contracts compiled for "
            f"evm_version '{evm_version}' use; set `solidity.evm_version: {RECOMMENDED}` "
            "in ape-config.yaml and recompile"
        )


def compiled_evm_versions(contract_names: list[str]) -> dict[str, str]:
    """{contract: evm_version it was compiled for}, read from ape's build manifest (the
    build cache keeps artifacts compiled under an earlier `evm_version` until a source
    changes or `ape compile --force`), falling back to ape-config.yaml's setting."""
    from ape import config, project

    for name in contract_names:
        getattr(project, name)  # compiles a changed or missing source first
    found: dict[str, str] = {}
    for compiler in project.manifest.compilers or []:
        evm = (compiler.settings or {}).get("evmVersion")
        for name in compiler.contractTypes or []:
            if evm and name in contract_names:
                found[name] = str(evm)
    configured = config.get_config("solidity").evm_version
    for name in contract_names:
        if name not in found and configured:
            found[name] = str(configured)
    return found


def require_deployable(contract_names: list[str], call: Caller | None = None) -> None:
    """Before deploying `contract_names` to the connected node: refuse, in one line, when
    any was compiled for an EVM the node does not run (see `require_evm_support`)."""
    versions = compiled_evm_versions(contract_names)
    if not versions:
        return
    newest = max(
        versions.values(), key=lambda v: EVM_VERSIONS.index(v) if v in EVM_VERSIONS else -1
    )
    try:
        require_evm_support(newest, call)
    except UnsupportedOpcode as exc:
        stale = sorted(n for n, v in versions.items() if v == newest)
        shown = ", ".join(stale[:3]) + (f" and {len(stale) - 3} more" if len(stale) > 3 else "")
        raise UnsupportedOpcode(
            f"{exc} (`ape compile --force` if the build cache predates the setting; "
            f"compiled for {newest}: {shown})"
        ) from exc
