"""Hypothesis state machine: the DIDRegistry against a small Python model of ERC-1056
(owners with permanent deactivation, expiring delegates under chain time travel,
attributes, batches), including which calls must be refused and with which error.

Hostile actors: every identity's key plus an outsider act at random on every identity,
directly, by signature relayed at once, or by a signature kept and relayed LATER (after
owner changes, deactivation or a burned nonce). Invariants: a rotated identity's old key
and a deactivated identity's owner and delegates have no power (refused with the
model's error; validDelegate false once deactivated)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from medchain.errors import ContractRevert
from medchain.identity import DIDRegistryClient, Operation, to_bytes32
from support.deploy import deploy_fresh
from support.fuzzing import machine_settings

ZERO = "0x" + "00" * 20
TYPES = ("veriKey", "sigAuth")
ACTORS = ("patient", "provider", "researcher", "lab")
OUTSIDERS = ("guardian",)  # never an identity under test, acts on all of them
FAR = 2**40  # deadline of signatures kept for later


@dataclass
class Model:
    owners: dict[str, str] = field(default_factory=dict)  # identity -> owner (absent: itself)
    deactivated: set[str] = field(default_factory=set)
    delegates: dict[tuple[str, str, str], int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    nonces: dict[str, int] = field(default_factory=dict)  # per signer (owner)

    def owner(self, identity: str) -> str:
        if identity in self.deactivated:
            return ZERO
        return self.owners.get(identity, identity)

    def refusal(self, identity: str, actor: str) -> str | None:
        if identity in self.deactivated:
            return "DIDDeactivated"
        if self.owner(identity) != actor:
            return "DIDNotOwner"
        return None

    def apply(self, identity: str, op: Operation, now: int, block: int) -> None:
        if op.kind == 0:
            if op.account == ZERO:
                self.deactivated.add(identity)
                self.owners.pop(identity, None)
            else:
                self.owners[identity] = op.account
        elif op.kind in (1, 2):
            key = (identity, op.name.rstrip(b"\0").decode(), op.account)
            self.delegates[key] = now + op.validity if op.kind == 1 else now
        self.changed[identity] = block


def _ops(addresses):
    addr = st.sampled_from(addresses)
    return st.one_of(
        st.builds(Operation.add_delegate, st.sampled_from(TYPES), addr, st.integers(0, 5_000)),
        st.builds(Operation.revoke_delegate, st.sampled_from(TYPES), addr),
        st.builds(
            Operation.set_attribute,
            st.sampled_from(["did/svc/A", "did/pub/X25519/enc"]),
            st.binary(max_size=40),
            st.integers(0, 5_000),
        ),
        st.builds(Operation.revoke_attribute, st.just("did/svc/A"), st.binary(max_size=8)),
        st.builds(Operation.change_owner, st.sampled_from([*addresses, ZERO])),
    )


@pytest.mark.statemachine
def test_registry_matches_model(chain, roles):
    accounts = {name: roles[name] for name in ACTORS}
    addresses = [a.address for a in accounts.values()]
    actors = addresses + [roles[name].address for name in OUTSIDERS]
    by_address = {roles[n].address: roles[n] for n in (*ACTORS, *OUTSIDERS)}
    deployer = roles["deployer"]

    class RegistryMachine(RuleBasedStateMachine):
        @initialize()
        def deploy(self):
            registry = deploy_fresh(deployer, "DIDRegistry").contracts["DIDRegistry"]
            self.client = DIDRegistryClient(registry)
            self.model = Model()
            self.pending: list[tuple[str, str, list[Operation], object, int]] = []

        def _run(
            self,
            identity: str,
            actor: str,
            ops: list[Operation],
            signed: bool = False,
            request: object = None,
            signed_nonce: int | None = None,
        ) -> None:
            before_block = chain.blocks.head.number
            predicted = None
            owner = self.model.owner(identity)
            # sequential semantics: each op is checked against the owner at that point
            shadow = Model(dict(self.model.owners), set(self.model.deactivated))
            if signed:  # the signature is checked (owner, then nonce) before any op runs
                predicted = shadow.refusal(identity, actor)
                current = self.model.nonces.get(actor, 0)
                if predicted is None and signed_nonce is not None and signed_nonce != current:
                    predicted = "DIDInvalidNonce"
            for op in ops if predicted is None else []:
                predicted = shadow.refusal(identity, actor)
                if predicted:
                    break
                shadow.apply(identity, op, 0, 0)
            sender = by_address[actor]
            try:
                if signed:
                    # EIP-712: the actor signs (as claimed signer), the deployer relays
                    if request is None:
                        request = self.client.sign(
                            sender, ops[0] if len(ops) == 1 else ops, identity
                        )
                    receipt = self.client.with_sender(deployer).relay(request)
                elif len(ops) == 1:
                    receipt = self.client.transact(
                        {
                            0: "changeOwner",
                            1: "addDelegate",
                            2: "revokeDelegate",
                            3: "setAttribute",
                            4: "revokeAttribute",
                        }[ops[0].kind],
                        identity,
                        *_single_args(ops[0]),
                        sender=sender,
                    )
                else:
                    receipt = self.client.batch(identity, ops, sender=sender)
            except ContractRevert as err:
                assert predicted == err.error_name, (predicted, err)
                assert chain.blocks.head.number >= before_block
                return
            assert predicted is None, f"expected {predicted}, owner was {owner}"
            if signed:
                self.model.nonces[actor] = self.model.nonces.get(actor, 0) + 1
            block = receipt.block_number
            now = chain.blocks[block].timestamp
            prev = self.model.changed.get(identity, 0)
            logs = list(receipt.events)
            assert len(logs) == len(ops)
            for i, (log, op) in enumerate(zip(logs, ops, strict=True)):
                assert log.previousChange == (prev if i == 0 else block)
                if op.kind in (1, 2):
                    assert log.validTo == (now + op.validity if op.kind == 1 else now)
                if op.kind == 3:
                    assert log.validTo == now + op.validity and bytes(log.value) == op.value
                self.model.apply(identity, op, now, block)

        @rule(
            identity=st.sampled_from(addresses),
            actor=st.sampled_from(actors),
            op=_ops(addresses),
        )
        def single(self, identity, actor, op):
            self._run(identity, actor, [op])

        @rule(
            identity=st.sampled_from(addresses),
            actor=st.sampled_from(actors),
            ops=st.lists(_ops(addresses), min_size=2, max_size=4),
        )
        def batch(self, identity, actor, ops):
            self._run(identity, actor, ops)

        @rule(
            identity=st.sampled_from(addresses),
            actor=st.sampled_from(actors),
            ops=st.lists(_ops(addresses), min_size=1, max_size=3),
        )
        def signed(self, identity, actor, ops):
            self._run(identity, actor, ops, signed=True)

        @rule(
            identity=st.sampled_from(addresses),
            actor=st.sampled_from(actors),
            ops=st.lists(_ops(addresses), min_size=1, max_size=2),
        )
        def sign_for_later(self, identity, actor, ops):
            """A signature made now and relayed after whatever happens in between."""
            request = self.client.sign(
                by_address[actor], ops[0] if len(ops) == 1 else ops, identity, deadline=FAR
            )
            self.pending.append((identity, actor, ops, request, self.model.nonces.get(actor, 0)))

        @rule(data=st.data())
        def relay_later(self, data):
            if not self.pending:
                return
            index = data.draw(st.integers(0, len(self.pending) - 1))
            identity, actor, ops, request, nonce = self.pending.pop(index)
            self._run(identity, actor, ops, signed=True, request=request, signed_nonce=nonce)

        @rule(actor=st.sampled_from(actors))
        def invalidate_nonce(self, actor):
            receipt = self.client.invalidate_nonce(sender=by_address[actor])
            assert next(iter(receipt.events)).nonce == self.model.nonces.get(actor, 0)
            self.model.nonces[actor] = self.model.nonces.get(actor, 0) + 1

        @rule(seconds=st.integers(1, 4_000))
        def travel(self, seconds):
            chain.pending_timestamp += seconds
            chain.mine()

        @invariant()
        def owners_match(self):
            if not hasattr(self, "client"):
                return
            for identity in addresses:
                assert self.client.identity_owner(identity) == self.model.owner(identity)
                assert self.client.changed(identity) == self.model.changed.get(identity, 0)
            for actor in actors:
                assert self.client.nonce(actor) == self.model.nonces.get(actor, 0)

        @invariant()
        def delegates_match(self):
            if not hasattr(self, "client"):
                return
            now = chain.blocks.head.timestamp
            for (identity, dtype, delegate), valid_to in self.model.delegates.items():
                live = valid_to > now and identity not in self.model.deactivated
                assert self.client.delegate_valid_to(identity, dtype, delegate) == valid_to
                assert self.client.valid_delegate(identity, dtype, delegate) == live

        @invariant()
        def deactivated_gives_nobody_power(self):
            if not hasattr(self, "client"):
                return
            for identity in self.model.deactivated:
                assert self.client.identity_owner(identity) == ZERO
                for actor in actors:
                    for dtype in TYPES:
                        assert not self.client.valid_delegate(identity, dtype, actor)

    RegistryMachine.TestCase.settings = machine_settings(4, 12)
    RegistryMachine.TestCase().runTest()


def _single_args(op: Operation) -> list:
    if op.kind == 0:
        return [op.account]
    if op.kind == 1:
        return [op.name, op.account, op.validity]
    if op.kind == 2:
        return [op.name, op.account]
    if op.kind == 3:
        return [op.name, op.value, op.validity]
    return [op.name, op.value]


def test_model_names_are_bytes32():
    assert to_bytes32("veriKey").rstrip(b"\0") == b"veriKey"
