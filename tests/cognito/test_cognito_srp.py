"""The server-side SRP math against pycognito's client math, without any server in between."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycognito import aws_srp

from devserver.cognito import srp

POOL_ID = "us-east-1_ExamplePool"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0x1, "01"), (0x7F, "7f"), (0x80, "0080"), (0xABC, "0abc"), (0x1234, "1234"), (0xF234, "00f234")],
)
def test_pad_hex_matches_the_clients(value: int, expected: str) -> None:
    assert srp.pad_hex(value) == expected
    assert aws_srp.pad_hex(value) == expected


def test_k_is_the_clients_multiplier() -> None:
    assert aws_srp.hex_to_long(aws_srp.hex_hash("00" + aws_srp.N_HEX + "0" + aws_srp.G_HEX)) == srp.K
    assert aws_srp.hex_to_long(aws_srp.N_HEX) == srp.N


def client_signature(username: str, password: str, salt_hex: str, b_hex: str, block: bytes) -> tuple[str, str, int]:
    """What pycognito answers to a PASSWORD_VERIFIER challenge: (signature, timestamp, its A)."""
    # No AWS client is needed for the math: pass a stand-in so none is created.
    client = aws_srp.AWSSRP(username, password, POOL_ID, "client", client=object())
    params = {
        "USER_ID_FOR_SRP": username,
        "SALT": salt_hex,
        "SRP_B": b_hex,
        "SECRET_BLOCK": base64.b64encode(block).decode(),
        "USERNAME": username,
    }
    answer = client.process_challenge(params, {"USERNAME": username})
    return answer["PASSWORD_CLAIM_SIGNATURE"], answer["TIMESTAMP"], client.large_a_value


@settings(max_examples=8, deadline=None)
@given(
    username=st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=20),
    password=st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=30),
)
def test_the_right_password_verifies_and_a_wrong_one_does_not(username: str, password: str) -> None:
    verifier = srp.make_verifier(POOL_ID, username, password)
    assert not verifier.salt_hex.startswith("0")
    small_b = srp.new_small_b()
    b_hex = f"{srp.server_public(verifier, small_b):x}"
    block = b"opaque secret block"
    for candidate, should_match in ((password, True), (password + "x", False)):
        signature, timestamp, big_a = client_signature(username, candidate, verifier.salt_hex, b_hex, block)
        expected = srp.expected_signature(POOL_ID, username, verifier, big_a, small_b, block, timestamp)
        assert srp.signature_matches(expected, signature) is should_match


def test_a_zero_client_value_is_refused() -> None:
    with pytest.raises(srp.SrpError):
        srp.check_client_public(0)
    with pytest.raises(srp.SrpError):
        srp.check_client_public(srp.N * 3)


def test_signature_compare_refuses_garbage() -> None:
    assert srp.signature_matches(b"\x01" * 32, "%%%") is False
    assert srp.signature_matches(b"\x01" * 32, base64.b64encode(b"\x01" * 31).decode()) is False
    assert srp.signature_matches(b"\x01" * 32, base64.b64encode(b"\x01" * 32).decode()) is True
