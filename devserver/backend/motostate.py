"""Capture, restore and wipe moto's in-memory state (its per-service ``BackendDict`` singletons).

moto keeps every service's state in module-level ``BackendDict`` objects (account -> region -> backend), and
records the ones in use in ``BackendDict._instances``. A snapshot pickles the contents of those dicts; a restore
puts the contents back *into the live singletons* (moto's response handlers look them up by reference, so they
must not be replaced). The Cognito pool's signing key is a ``joserfc`` RSA key wrapping a ``cryptography`` key,
which does not pickle: a reducer saves it as its private JWK and re-imports it on load.
"""

from __future__ import annotations

import copyreg
import importlib
import io
import pickle
import sys
from typing import Any

from joserfc.jwk import RSAKey
from moto.core.base_backend import BackendDict, backend_lock
from moto.moto_api._internal import mock_random

SNAPSHOT_PROTOCOL = pickle.HIGHEST_PROTOCOL


def _instances() -> list[BackendDict[Any]]:
    """moto's registry of the BackendDicts in use (a class attribute shared by every service)."""
    registry: list[BackendDict[Any]] = vars(BackendDict)["_instances"]
    return registry


def _rsa_key_from_jwk(jwk: dict[str, Any]) -> RSAKey:
    """Unpickle a Cognito signing key from its private JWK."""
    return RSAKey.import_key(jwk)


def _reduce_rsa_key(key: RSAKey) -> tuple[Any, tuple[dict[str, Any]]]:
    return _rsa_key_from_jwk, (key.as_dict(private=True),)


def _locate(bd: BackendDict[Any]) -> tuple[str, str]:
    """The module and attribute name under which moto keeps this BackendDict singleton."""
    module_name = bd.backend.__module__
    candidates = [module_name]
    if module_name.count(".") >= 2:  # moto.<service>.models.<sub> -> also try moto.<service>.models
        candidates.append(module_name.rsplit(".", 1)[0])
    for name in candidates:
        module = sys.modules.get(name)
        if module is None:
            continue
        for attr, value in vars(module).items():
            if value is bd:
                return name, attr
    raise LookupError(f"cannot find the module attribute holding moto's {bd.service_name} backends")


def dump_state() -> bytes:
    """Pickle every BackendDict in use. Call with writers excluded (the caller's lock), not during a write."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=SNAPSHOT_PROTOCOL)
    pickler.dispatch_table = copyreg.dispatch_table.copy()
    pickler.dispatch_table[RSAKey] = _reduce_rsa_key
    # moto creates region backends lazily under backend_lock, even while serving reads: hold it throughout.
    with backend_lock:
        state = [(*_locate(bd), dict(bd)) for bd in _instances()]
        pickler.dump({"backends": state, "random": mock_random.getstate()})
    return buffer.getvalue()


def reset_state() -> None:
    """Wipe every moto backend in this process (moto's own reset)."""
    BackendDict.reset()


def restore_state(payload: bytes) -> None:
    """Replace moto's in-memory state with a snapshot's (moto's state is wiped first)."""
    snapshot = pickle.loads(payload)  # noqa: S301 (our own file, in the user's own state directory)
    reset_state()
    with backend_lock:
        for module_name, attr, contents in snapshot["backends"]:
            live = getattr(importlib.import_module(module_name), attr)
            live.clear()
            live.update(contents)
            if live not in _instances():
                _instances().append(live)
    mock_random.setstate(snapshot["random"])


def seed_random(seed: int) -> None:
    """Seed moto's random source (ids, Cognito subs, pool ids, SRP values) so a replay makes the same ones."""
    mock_random.seed(seed)
