"""The one contract stays the one contract: handlers, README and OpenAPI agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import ROOT, load_handler

CONTRACT: dict[str, Any] = yaml.safe_load((ROOT / "api" / "openapi.yaml").read_text())
OPERATIONS = [
    (method.upper(), path, op["x-lambda-function"])
    for path, item in CONTRACT["paths"].items()
    for method, op in item.items()
    if method in ("get", "post", "put", "delete")
]


def test_contract_is_valid_openapi() -> None:
    from openapi_spec_validator import validate

    validate(CONTRACT)


@pytest.mark.parametrize(("method", "path", "function"), OPERATIONS)
def test_every_operation_is_served_by_its_function(method: str, path: str, function: str) -> None:
    assert function in CONTRACT["x-lambda-functions"]
    module = load_handler(function)
    assert (method, path) in module.resolver._routes


def test_every_function_serves_only_contract_routes() -> None:
    declared = {(m, p) for m, p, _ in OPERATIONS}
    for function, spec in CONTRACT["x-lambda-functions"].items():
        assert (ROOT / "lambdas" / function / "app.py").is_file()
        module = load_handler(function)
        if "trigger" in spec:  # invoked by its trigger, never by the API
            assert not hasattr(module, "resolver")
            assert not any(f == function for _, _, f in OPERATIONS)
        else:
            assert set(module.resolver._routes) <= declared


def test_readme_api_reference_is_generated_from_the_contract() -> None:
    from scripts.api_reference import main

    assert main(["--check"]) == 0, "run `python scripts/api_reference.py`"


def test_every_module_opens_with_a_docstring() -> None:
    missing = []
    for folder in ("expense_core", "lambdas", "devserver", "bootstrap", "quicksight", "bench", "scripts"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            text = path.read_text().lstrip()
            if text and not text.startswith(('"""', "'''", 'r"""')):
                missing.append(str(Path(path).relative_to(ROOT)))
    assert missing == []
