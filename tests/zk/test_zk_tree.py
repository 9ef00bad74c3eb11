"""Issuer trees on chain (no proofs): PoseidonT3 and the zero ladder equal the SDK's
Poseidon (which equals the circuit's, see test_zk_proofs), and every root the contract
computes on issue and revoke equals the tree rebuilt in Python."""

from __future__ import annotations

import random

import ape
import pytest

from medchain.errors import ContractRevert
from medchain.zk import FIELD, EligibilityClient, poseidon, utc_date
from medchain.zk.model import ZEROS, IssuerTree


def test_poseidon_contract_and_zero_ladder_match_the_sdk(poseidon_t3, gate):
    rng = random.Random(7)
    for _ in range(4):
        a, b = rng.randrange(FIELD), rng.randrange(FIELD)
        assert poseidon_t3.hash([a, b]) == poseidon([a, b])
    assert [gate.zeroAt(i) for i in range(17)] == ZEROS


def test_roots_on_issue_and_revoke_equal_the_python_tree(zk: EligibilityClient, gate, lab):
    rng = random.Random(11)
    leaves = [rng.randrange(1, FIELD) for _ in range(7)]
    model = IssuerTree()
    for leaf in leaves[:5]:
        receipt = zk.transact("issue", leaf, sender=lab)
        model.leaves.append(leaf)
        (ev,) = [e for e in receipt.events if e.event_name == "CredentialIssued"]
        assert ev.leaf == leaf and ev.index == len(model.leaves) - 1 and ev.root == model.root
    # revoke an inner leaf and the last leaf: the frontier must follow, so later issues agree
    for index in (2, 4):
        zk.transact("revoke", index, model.leaves[index], model.path(index), sender=lab)
        model.leaves[index] = 0
        assert gate.tree(lab)[1] == model.root
    for leaf in leaves[5:]:
        zk.transact("issue", leaf, sender=lab)
        model.leaves.append(leaf)
        assert gate.tree(lab)[1] == model.root
    size, root, seq, valid_from = gate.tree(lab)
    assert (size, seq, valid_from) == (7, 9, 7)  # 7 issues + 2 revocations; valid from the last
    assert zk.issuer_tree(lab).leaves == model.leaves and root == model.root


def test_batch_issue_equals_single_issues(zk: EligibilityClient, gate, lab):
    rng = random.Random(5)
    model = IssuerTree()
    for batch in ([1], [2, 3], [4, 5, 6, 7, 8], [9], list(range(10, 30))):  # aligned or not
        leaves = [rng.randrange(1, FIELD) for _ in batch]
        receipt = zk.transact("issueBatch", leaves, sender=lab)
        events = [e for e in receipt.events if e.event_name == "CredentialIssued"]
        assert [int(e.index) for e in events] == list(
            range(len(model.leaves), len(model.leaves) + len(leaves))
        )
        model.leaves.extend(leaves)
        assert {int(e.root) for e in events} == {model.root} == {gate.tree(lab)[1]}
    zk.transact("issue", 77, sender=lab)  # a single issue after batches
    model.leaves.append(77)
    assert gate.tree(lab)[1] == model.root
    assert zk.issuer_tree(lab).leaves == model.leaves
    with pytest.raises(ContractRevert) as err:
        zk.transact("issueBatch", [], sender=lab)
    assert err.value.error_name == "EligibilityInvalidBatch"
    with pytest.raises(ContractRevert) as err:
        zk.transact("issueBatch", [5, 0], sender=lab)
    assert err.value.error_name == "EligibilityInvalidLeaf"


def test_refusals_of_issue_and_revoke(zk, gate, lab, patient):
    with ape.reverts(gate.AccessControlUnauthorizedAccount):
        gate.issue(5, sender=patient)
    with pytest.raises(ContractRevert) as err:
        zk.transact("issue", 0, sender=lab)
    assert err.value.error_name == "EligibilityInvalidLeaf"
    with pytest.raises(ContractRevert) as err:
        zk.transact("issue", FIELD, sender=lab)
    assert err.value.error_name == "EligibilityInvalidLeaf"
    for leaf in (101, 202):
        zk.transact("issue", leaf, sender=lab)
    tree = zk.issuer_tree(lab)
    with pytest.raises(ContractRevert) as err:  # right leaf, wrong path
        zk.transact("revoke", 1, 202, [1] * 16, sender=lab)
    assert err.value.error_name == "EligibilityNotACurrentLeaf"
    with pytest.raises(ContractRevert) as err:  # another leaf's path
        zk.transact("revoke", 1, 202, tree.path(0), sender=lab)
    assert err.value.error_name == "EligibilityNotACurrentLeaf"
    zk.transact("revoke", 1, 202, tree.path(1), sender=lab)
    with pytest.raises(ContractRevert) as err:  # already revoked (zero)
        zk.transact("revoke", 1, 0, tree.path(1), sender=lab)
    assert err.value.error_name == "EligibilityNotACurrentLeaf"
    with pytest.raises(ContractRevert) as err:  # beyond the tree
        zk.transact("revoke", 2, 5, tree.path(1), sender=lab)
    assert err.value.error_name == "EligibilityNotACurrentLeaf"


def test_chain_date_is_the_utc_date_of_the_block(zk, chain):
    # Hinnant's civil_from_days on chain against Python's calendar, around a leap day
    assert utc_date(1_709_251_199) == 20240229 and utc_date(1_709_251_200) == 20240301
    stamps = {utc_date(chain.blocks.head.timestamp), utc_date(chain.pending_timestamp)}
    assert zk.chain_date() in stamps
