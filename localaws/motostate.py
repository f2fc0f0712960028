"""Capture, restore and wipe moto's in-memory state (its per-service ``BackendDict`` singletons).

moto keeps every service's state in module-level ``BackendDict`` objects (account -> region -> backend), and
records the ones in use in ``BackendDict._instances``. A snapshot pickles the contents of those dicts; a restore
puts the contents back *into the live singletons* (moto's response handlers look them up by reference, so they
must not be replaced). The Cognito pool's signing key is a ``joserfc`` RSA key wrapping a ``cryptography`` key,
which does not pickle: a reducer saves it as its private JWK and re-imports it on load. moto's Lambda backend
keeps a ``weakref.WeakValueDictionary`` (ARN -> function) and ``defaultdict(lambda: {})`` maps, which pickle
through reducers too.
"""

from __future__ import annotations

import base64
import copy
import copyreg
import functools
import importlib
import io
import pickle
import sys
import threading
import weakref
from collections import defaultdict
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey
from moto.core.base_backend import BackendDict, backend_lock
from moto.moto_api._internal import mock_random

SNAPSHOT_PROTOCOL = pickle.HIGHEST_PROTOCOL


def _instances() -> list[BackendDict[Any]]:
    """moto's registry of the BackendDicts in use (a class attribute shared by every service)."""
    registry: list[BackendDict[Any]] = vars(BackendDict)["_instances"]
    return registry


_RSA_PRIVATE_MEMBERS = ("n", "e", "d", "p", "q", "dp", "dq", "qi")


def _jwk_int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def _rsa_key_from_jwk(jwk: dict[str, Any]) -> RSAKey:
    """Unpickle a Cognito signing key from its private JWK.

    Built from its numbers without OpenSSL's key check (``unsafe_skip_rsa_key_validation``), which costs some
    60 ms a key on every start: the key was checked when it was made, and it comes from the snapshot this process
    unpickles anyway (a snapshot is trusted whole, or not loaded). Other JWK members (kid, use, alg) are kept.
    """
    if any(not isinstance(jwk.get(name), str) for name in _RSA_PRIVATE_MEMBERS):
        return RSAKey.import_key(jwk)  # not the full private form as_dict(private=True) writes: the checked way
    n, e, d, p, q, dp, dq, qi = (_jwk_int(str(jwk[name])) for name in _RSA_PRIVATE_MEMBERS)
    private = rsa.RSAPrivateNumbers(p, q, d, dp, dq, qi, rsa.RSAPublicNumbers(e, n)).private_key(
        unsafe_skip_rsa_key_validation=True
    )
    others = {k: v for k, v in jwk.items() if k not in _RSA_PRIVATE_MEMBERS and k != "kty"}
    return RSAKey.import_key(private, parameters=others or None)  # type: ignore[arg-type]  # a KeyParameters dict


def _b64_int(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")).rstrip(b"=").decode()


def _reduce_rsa_key(key: RSAKey) -> tuple[Any, tuple[dict[str, Any]]]:
    """Saved as its private JWK with every CRT member: moto's own pool key comes from a JWK of n, e and d only
    (``cognitoidp/resources/jwks-private.json``), and importing that recovers p and q, some 150 ms a start."""
    jwk = key.as_dict(private=True)
    private = key.private_key
    if private is not None and any(name not in jwk for name in _RSA_PRIVATE_MEMBERS):
        numbers = private.private_numbers()
        members = {"p": numbers.p, "q": numbers.q, "d": numbers.d, "dp": numbers.dmp1, "dq": numbers.dmq1}
        jwk.update({name: _b64_int(value) for name, value in {**members, "qi": numbers.iqmp}.items()})
    return _rsa_key_from_jwk, (jwk,)


def _weak_value_dict(contents: dict[Any, Any]) -> weakref.WeakValueDictionary[Any, Any]:
    """Unpickle a WeakValueDictionary (moto's Lambda backend indexes functions by ARN in one)."""
    return weakref.WeakValueDictionary(contents)


def _reduce_weak_value_dict(
    mapping: weakref.WeakValueDictionary[Any, Any],
) -> tuple[Any, tuple[dict[Any, Any]]]:
    # Values that are only weakly referenced are saved too; on load nothing else holds them, so they go away
    # again - the same as in the running process.
    return _weak_value_dict, (dict(mapping),)


def _reduce_lock(lock: Any) -> tuple[Any, tuple[()]]:
    """A lock or condition is saved as a fresh one: it guards state, it is none (moto's SQS queue waits on a
    threading.Condition for its messages; snapshots are taken with writers excluded, so none is held)."""
    return type(lock) if isinstance(lock, threading.Condition) else _LOCK_FACTORIES[type(lock)], ()


_LOCK_FACTORIES: dict[type, Any] = {type(threading.Lock()): threading.Lock, type(threading.RLock()): threading.RLock}


def _reduce_defaultdict(mapping: defaultdict[Any, Any]) -> Any:
    factory = mapping.default_factory
    name = getattr(factory, "__qualname__", "")
    if factory is None or not ("<lambda>" in name or "<locals>" in name):
        return mapping.__reduce__()
    # moto writes `defaultdict(lambda: {})` and the like; a lambda cannot be pickled, so the default becomes a
    # deep copy of what the lambda returns (the same fresh empty value each time).
    return defaultdict, (functools.partial(copy.deepcopy, factory()),), None, None, iter(mapping.items())


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


def dump_state(excluded: frozenset[str] = frozenset()) -> bytes:
    """Pickle every BackendDict in use but the ``excluded`` services' (moto service names, e.g. "dynamodb").

    Call with writers excluded (the caller's lock), not during a write.
    """
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=SNAPSHOT_PROTOCOL)
    pickler.dispatch_table = copyreg.dispatch_table.copy()
    pickler.dispatch_table[RSAKey] = _reduce_rsa_key
    pickler.dispatch_table[weakref.WeakValueDictionary] = _reduce_weak_value_dict
    pickler.dispatch_table[defaultdict] = _reduce_defaultdict
    for lock_type in (threading.Condition, *_LOCK_FACTORIES):
        pickler.dispatch_table[lock_type] = _reduce_lock
    # moto creates region backends lazily under backend_lock, even while serving reads: hold it throughout.
    with backend_lock:
        state = [(*_locate(bd), dict(bd)) for bd in _instances() if bd.service_name not in excluded]
        pickler.dump({"backends": state, "random": mock_random.getstate()})
    return buffer.getvalue()


def reset_state() -> None:
    """Wipe every moto backend in this process (moto's own reset)."""
    BackendDict.reset()


def has_state(names: frozenset[str]) -> bool:
    """Whether moto holds any state of these services (a backend was created for some account)."""
    with backend_lock:
        return any(bool(bd) for bd in _instances() if bd.service_name in names)


def drop_services(names: frozenset[str]) -> bool:
    """Wipe the state of these moto services only (e.g. once DynamoDB Local serves DynamoDB); True if any."""
    dropped = False
    with backend_lock:
        for bd in [bd for bd in _instances() if bd.service_name in names]:
            dropped = dropped or bool(bd)
            for account_specific in bd.values():
                account_specific.reset()
            bd.clear()
            _instances().remove(bd)
    return dropped


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
