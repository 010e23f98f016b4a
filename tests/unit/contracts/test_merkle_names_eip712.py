"""Pure helpers: Merkle trees, the names registry, EIP-712 messages (no chain needed)."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import (
    Eip712Domain,
    GrantConsentMessage,
    MerkleTree,
    Names,
    UnknownName,
    as_id,
    hash_pair,
    leaf_hash,
    recover_signer,
    role_id,
    sign_consent,
    term_id,
    typed_data,
    verify_inclusion,
)

# ---------------------------------------------------------------- merkle


def test_leaves_are_double_hashed_and_pairs_sorted() -> None:
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert a == keccak(keccak(b"a"))
    assert hash_pair(a, b) == hash_pair(b, a) == keccak(min(a, b) + max(a, b))
    assert MerkleTree.from_leaves([a, b]).root == hash_pair(a, b)
    assert MerkleTree.from_leaves([a]).root == a and MerkleTree.from_leaves([a]).proof(0) == []


def test_an_odd_last_node_moves_up_unchanged() -> None:
    a, b, c = (leaf_hash(x) for x in (b"a", b"b", b"c"))
    tree = MerkleTree.from_leaves([a, b, c])
    assert tree.root == hash_pair(hash_pair(a, b), c)
    assert tree.proof(2) == [hash_pair(a, b)]
    assert MerkleTree.from_leaves([a, b, c, c]).root != tree.root  # no implicit duplication


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=40), min_size=1, max_size=40), st.data())
def test_every_leaf_proves_and_a_stranger_does_not(entries: list[bytes], data: st.DataObject):
    tree = MerkleTree.from_entries(entries)
    i = data.draw(st.integers(0, len(entries) - 1))
    assert verify_inclusion(tree.root, tree.leaves[i], tree.proof(i))
    stranger = leaf_hash(b"stranger" + b"".join(entries))
    assert stranger in tree.leaves or not verify_inclusion(tree.root, stranger, tree.proof(i))


def test_tree_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        MerkleTree.from_leaves([])
    with pytest.raises(ValueError):
        MerkleTree.from_leaves([b"short"])
    with pytest.raises(IndexError):
        MerkleTree.from_entries([b"a"]).proof(1)


# ---------------------------------------------------------------- names


def test_names_map_both_ways_and_show_unknown_ids_as_hex() -> None:
    names = Names()
    cid = names.category_id("energy.household_meter")
    assert cid == keccak(text="energy.household_meter") == term_id("energy.household_meter")
    assert names.name_of(cid) == "energy.household_meter"
    assert names.name_of(names.purpose_id("dpv:AcademicResearch")) == "dpv:AcademicResearch"
    assert names.name_of(role_id("AUDITOR")) == "AUDITOR"
    assert names.is_personal("energy.household_meter") and not names.is_personal("air.no2")
    assert "energy.household_meter" in names.personal_categories()
    unknown = term_id("moon.dust")
    assert names.label(unknown) == "0x" + unknown.hex()
    with pytest.raises(UnknownName):
        names.name_of(unknown)
    with pytest.raises(UnknownName):
        names.category_id("moon.dust")
    assert names.add_category("moon.dust", personal=False) == unknown
    assert names.name_of(unknown) == "moon.dust"
    with pytest.raises(ValueError):
        names.add_category("nodot", personal=True)
    with pytest.raises(ValueError):
        names.add_purpose("NoPrefix")
    with pytest.raises(UnknownName):
        role_id("MAYOR")


def test_as_id_accepts_names_ids_and_hex() -> None:
    tid = term_id("traffic.flow")
    assert as_id("traffic.flow") == as_id(tid) == as_id("0x" + tid.hex()) == tid
    with pytest.raises(ValueError):
        as_id(b"too short")


# ---------------------------------------------------------------- EIP-712


def test_signed_consent_recovers_to_the_signer_only_in_its_domain() -> None:
    citizen = Account.create()
    domain = Eip712Domain(chain_id=31337, verifying_contract="0x" + "11" * 20)
    message = GrantConsentMessage(
        citizen.address,
        "0x" + "22" * 20,
        term_id("air.no2"),
        term_id("dpv:PublicBenefit"),
        expiry=2_000_000_000,
        nonce=0,
        deadline=1_900_000_000,
    )
    signed = sign_consent(citizen, domain, message)
    assert len(signed.signature) == 65 and signed.v in (27, 28)
    assert recover_signer(domain, signed) == citizen.address
    other = Eip712Domain(chain_id=1, verifying_contract=domain.verifying_contract)
    assert recover_signer(other, signed) != citizen.address
    payload = typed_data(domain, message)
    assert payload["primaryType"] == "GrantConsent"
    assert payload["message"]["category"] == "0x" + term_id("air.no2").hex()
    assert payload["domain"]["chainId"] == 31337
