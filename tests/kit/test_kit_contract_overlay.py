"""kit.contract overlays: a fragment that adds operations and functions (code beside it) to the contract it names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from kit.contract import CONTRACT_PATH, OVERLAY_KEY, ContractError, load_contract

PROBE = Path(__file__).resolve().parents[1] / "parity" / "probe" / "openapi.yaml"


def _write(path: Path, document: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "api" / "openapi.yaml",
        {
            "x-cors": {"allowOrigins": ["*"]},
            "x-lambda-functions": {"f": {"timeout": 5}},
            "paths": {"/a": {"get": {"x-lambda-function": "f"}}},
            "components": {"schemas": {"A": {"type": "object"}}},
        },
    )


def _overlay(tmp_path: Path, **document: object) -> Path:
    return _write(tmp_path / "extra" / "openapi.yaml", {OVERLAY_KEY: "../api/openapi.yaml", **document})


def test_the_probe_overlay_adds_its_function_and_operations_to_the_apps_contract() -> None:
    app = load_contract(CONTRACT_PATH)
    probe = load_contract(PROBE)
    assert set(probe.functions) == set(app.functions) | {"parity_probe"}
    assert probe.functions["parity_probe"].code_dir == PROBE.parent / "parity_probe"
    assert (probe.functions["parity_probe"].code_dir / "app.py").is_file()
    # The app's functions are the app's, their code under lambdas/.
    assert all(probe.functions[key] == spec and spec.code_dir is None for key, spec in app.functions.items())
    added = {(op.resource, op.method) for op in probe.operations} - {(op.resource, op.method) for op in app.operations}
    assert added == {
        ("/probe/echo", "GET"),
        ("/probe/echo", "POST"),
        ("/probe/echo/{value}", "GET"),
        ("/probe/result", "POST"),
    }
    assert probe.cors == app.cors
    assert OVERLAY_KEY not in probe.document
    assert probe.document["x-amazon-apigateway-binary-media-types"] == ["application/vnd.parity-probe"]
    assert "x-amazon-apigateway-binary-media-types" not in app.document
    assert "/probe/echo" not in app.document["paths"]  # the app's contract is untouched


def test_an_overlay_may_add_anywhere(tmp_path: Path, base: Path) -> None:
    overlay = _overlay(
        tmp_path,
        **{
            "x-lambda-functions": {"g": {}},
            "paths": {"/b": {"post": {"x-lambda-function": "g"}}},
            "components": {"schemas": {"B": {"type": "string"}}},
            "x-cors": {"allowOrigins": ["*"], "maxAge": 60},  # equal values may be repeated
        },
    )
    contract = load_contract(overlay)
    assert [(op.resource, op.function) for op in contract.operations] == [("/a", "f"), ("/b", "g")]
    assert contract.functions["g"].code_dir == overlay.parent / "g"
    assert contract.functions["f"].code_dir is None
    assert contract.functions["f"].timeout_seconds == 5
    assert set(contract.document["components"]["schemas"]) == {"A", "B"}
    assert contract.cors.max_age == 60


@pytest.mark.parametrize(
    "document",
    [
        {"paths": {"/a": {"post": {"x-lambda-function": "f"}}}},  # a path of the base
        {"x-lambda-functions": {"f": {"statements": [{"Action": "s3:*", "Resource": "*"}]}}},  # a function's role
        {"x-cors": {"allowOrigins": ["https://evil.example"]}},  # a value of the base
        {"paths": ["/b"]},
    ],
)
def test_an_overlay_never_changes_its_contract(tmp_path: Path, base: Path, document: dict) -> None:
    with pytest.raises(ContractError, match="overlay"):
        load_contract(_overlay(tmp_path, **document))


def test_an_overlay_of_a_missing_contract_is_refused(tmp_path: Path) -> None:
    overlay = _write(tmp_path / "o.yaml", {OVERLAY_KEY: "nowhere.yaml", "paths": {}})
    with pytest.raises(ContractError, match="contract not found"):
        load_contract(overlay)
    with pytest.raises(ContractError, match=OVERLAY_KEY):
        load_contract(_write(tmp_path / "p.yaml", {OVERLAY_KEY: 3}))


def test_an_overlay_sees_its_base_change(tmp_path: Path, base: Path) -> None:
    overlay = _overlay(
        tmp_path, **{"x-lambda-functions": {"g": {}}, "paths": {"/b": {"get": {"x-lambda-function": "g"}}}}
    )
    assert load_contract(overlay).functions["f"].timeout_seconds == 5
    document = yaml.safe_load(base.read_text())
    document["x-lambda-functions"]["f"]["timeout"] = 7
    base.write_text(yaml.safe_dump(document))
    stat = base.stat()
    os.utime(base, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert load_contract(overlay).functions["f"].timeout_seconds == 7
