"""The server half of Cognito's SRP-6a sign-in, so a local pool can really check a password proof."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

# for parity: the 3072-bit MODP group of RFC 3526 that every Cognito client hard-codes, with g = 2.
N_HEX = (
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"
)
N = int(N_HEX, 16)
G = 2
_HKDF_INFO = b"Caldera Derived Key\x01"


class SrpError(ValueError):
    """The client's SRP values are unusable (A or u is zero modulo N): Cognito refuses the attempt."""


def pad_hex(value: int) -> str:
    """Hex of a non-negative integer as the Cognito clients pad it before hashing (a sign byte when needed)."""
    text = f"{value:x}"
    if len(text) % 2 == 1:
        return "0" + text
    if text[0] in "89abcdef":
        return "00" + text
    return text


def _hash_hex(*hex_parts: str) -> int:
    """SHA-256 of the bytes the hex strings spell, as an integer (the clients' `hexHash`)."""
    return int(hashlib.sha256(bytes.fromhex("".join(hex_parts))).hexdigest(), 16)


K = _hash_hex(pad_hex(N), pad_hex(G))


def pool_name(pool_id: str) -> str:
    """The part of a pool id after the region and `_`, which the clients mix into every SRP hash."""
    return pool_id.split("_", 1)[1]


@dataclass(frozen=True)
class Verifier:
    """What the server keeps instead of a password: a salt and v = g^x mod N."""

    salt: int
    verifier: int

    @property
    def salt_hex(self) -> str:
        # The clients parse SALT as a big integer, so the hex we hand out must not start with a zero.
        return f"{self.salt:x}"


def make_verifier(pool_id: str, user_id_for_srp: str, password: str, salt: int | None = None) -> Verifier:
    """The verifier for this password, with a fresh salt unless one is given (to check a known password)."""
    if salt is None:
        # 128 random bits with the top bit set: a 32-digit hex salt without a leading zero.
        salt = secrets.randbits(128) | (1 << 127)
    identity = hashlib.sha256(f"{pool_name(pool_id)}{user_id_for_srp}:{password}".encode()).hexdigest()
    x = _hash_hex(pad_hex(salt), identity)
    return Verifier(salt=salt, verifier=pow(G, x, N))


def server_public(verifier: Verifier, small_b: int) -> int:
    """B = (k*v + g^b) mod N, the server's public value for one attempt."""
    return (K * verifier.verifier + pow(G, small_b, N)) % N


def new_small_b() -> int:
    """The server's secret exponent for one attempt."""
    return secrets.randbits(256)


def check_client_public(big_a: int) -> None:
    """Refuse A = 0 mod N, which would make the shared secret predictable."""
    if big_a % N == 0:
        raise SrpError("SRP_A is zero modulo N")


def expected_signature(
    pool_id: str,
    user_id_for_srp: str,
    verifier: Verifier,
    big_a: int,
    small_b: int,
    secret_block: bytes,
    timestamp: str,
) -> bytes:
    """The PASSWORD_CLAIM_SIGNATURE (raw HMAC bytes) a client that knows the password sends back."""
    check_client_public(big_a)
    big_b = server_public(verifier, small_b)
    u = _hash_hex(pad_hex(big_a), pad_hex(big_b))
    if u == 0:
        raise SrpError("u is zero")
    shared = pow(big_a * pow(verifier.verifier, u, N), small_b, N)
    prk = hmac.new(bytes.fromhex(pad_hex(u)), bytes.fromhex(pad_hex(shared)), hashlib.sha256).digest()
    key = hmac.new(prk, _HKDF_INFO, hashlib.sha256).digest()[:16]
    message = pool_name(pool_id).encode() + user_id_for_srp.encode() + secret_block + timestamp.encode()
    return hmac.new(key, message, hashlib.sha256).digest()


def signature_matches(expected: bytes, claimed_b64: str) -> bool:
    """Compare the client's base64 signature with the expected bytes in constant time."""
    try:
        claimed = base64.b64decode(claimed_b64, validate=True)
    except ValueError:
        return False
    return hmac.compare_digest(expected, claimed)
