"""Request and trace ids for every API request, drawn without a system call each (they identify, they guard nothing).

Each request needs several random ids (API Gateway's request id and extended request id, the trace header, the
Lambda request id and its X-Ray trace). `os.urandom` is a system call that releases the GIL, and under concurrent
requests every release can hand the interpreter to another thread and wait to get it back (six per request;
`uuid4` alone was an eighth of the request threads' time in a profile with 4 clients). These ids need uniqueness,
not secrecy (they are logged and sent to the client), so they come from one generator seeded once from the OS;
its C `getrandbits` runs under the GIL, so threads share it safely. Anything secret (tokens, keys, codes) keeps
using `secrets`.
"""

from __future__ import annotations

import os
import random
import uuid

_random = random.Random(os.urandom(32))


def random_hex(nbytes: int) -> str:
    """`nbytes` random bytes as lower-case hex (as `secrets.token_hex` writes them)."""
    return f"{_random.getrandbits(nbytes * 8):0{nbytes * 2}x}"


def random_bytes(nbytes: int) -> bytes:
    return _random.getrandbits(nbytes * 8).to_bytes(nbytes, "big")


def uuid4() -> str:
    """A random (version 4) UUID in its canonical text form, as `str(uuid.uuid4())`."""
    return str(uuid.UUID(int=_random.getrandbits(128), version=4))
