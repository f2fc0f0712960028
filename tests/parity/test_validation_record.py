"""validated.json lists every parity case with its source; AWS runs fill in the date each case last passed there."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from tests.parity.targets import VALIDATED_FILE

# Every file of parity cases: test_parity_gateway.py (the app's operations), test_parity_events.py (the probe).
CASES_FILES = sorted(Path(__file__).resolve().parent.glob("test_parity_*.py"))


def _cases_in_source() -> dict[str, str]:
    """Case name -> the source its @pytest.mark.parity names (read from the files, so no target is needed)."""
    cases: dict[str, str] = {}
    for path in CASES_FILES:
        found = _cases_in(path)
        assert not set(found) & set(cases), f"{path.name}: a case name is taken by another file"
        cases.update(found)
    return cases


def _cases_in(path: Path) -> dict[str, str]:
    tree = ast.parse(path.read_text())
    constants: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            name = node.targets[0]
            if isinstance(name, ast.Name):
                constants[name.id] = node.value.value
    cases: dict[str, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
            continue
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == "pytest.mark.parity":
                value = decorator.keywords[0].value
                if isinstance(value, ast.Name):
                    cases[node.name] = constants[value.id]
                elif isinstance(value, ast.Constant) and isinstance(value.value, str):
                    cases[node.name] = value.value
    return cases


def test_every_case_has_its_source_in_the_record() -> None:
    record = json.loads(VALIDATED_FILE.read_text())
    cases = _cases_in_source()
    assert {path.name for path in CASES_FILES} >= {"test_parity_gateway.py", "test_parity_events.py"}
    assert len(cases) >= 24
    assert set(record) == set(cases), "regenerate tests/parity/validated.json: a case was added or removed"
    for name, source in cases.items():
        assert record[name]["source"] == source, name
        assert source.startswith("https://"), name
        validated = record[name]["validatedOnAws"]
        assert validated is None or (len(validated) == 10 and validated[4] == "-"), name
