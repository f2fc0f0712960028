"""Deterministic Lambda zips: same sources, same bytes, same CodeSha256 as Lambda computes."""

from __future__ import annotations

import base64
import hashlib
import os
import time
import zipfile
from io import BytesIO

import pytest

from bootstrap.packaging import ZIP_EPOCH, PackagingError, build_zip
from bootstrap.spec import StackSpec


def _tree(root):
    (root / "fn").mkdir()
    (root / "fn" / "app.py").write_text("from core import x\n")
    core = root / "core"
    (core / "sub").mkdir(parents=True)
    (core / "__init__.py").write_text("")
    (core / "b.py").write_text("B = 1\n")
    (core / "sub" / "a.py").write_text("A = 1\n")
    (core / "__pycache__").mkdir()
    (core / "__pycache__" / "b.cpython-311.pyc").write_bytes(b"junk")
    return root / "fn" / "app.py", core


def test_rebuild_is_byte_identical_despite_times_and_modes(tmp_path):
    app, core = _tree(tmp_path)
    first = build_zip(app, core)
    later = time.time() + 3600
    for path in [app, *core.rglob("*.py")]:
        os.utime(path, (later, later))
        path.chmod(0o755)
    assert build_zip(app, core).data == first.data


def test_zip_layout_order_and_metadata(tmp_path):
    app, core = _tree(tmp_path)
    archive = zipfile.ZipFile(BytesIO(build_zip(app, core).data))
    names = archive.namelist()
    assert names == ["app.py", "core/__init__.py", "core/b.py", "core/sub/a.py"]
    for info in archive.infolist():
        assert info.date_time == ZIP_EPOCH
        assert info.external_attr >> 16 == 0o100644


def test_a_content_change_changes_the_digest(tmp_path):
    app, core = _tree(tmp_path)
    before = build_zip(app, core)
    (core / "b.py").write_text("B = 2\n")
    after = build_zip(app, core)
    assert before.code_sha256 != after.code_sha256
    assert after.code_sha256 == base64.b64encode(hashlib.sha256(after.data).digest()).decode()


def test_missing_sources_are_a_clear_error(tmp_path):
    with pytest.raises(PackagingError, match="handler not found"):
        build_zip(tmp_path / "nope" / "app.py", tmp_path)


def test_code_sha256_matches_what_lambda_reports(shared_stack, clients):
    spec = StackSpec(stack=shared_stack["stack"], region="us-east-1", account_id="123456789012", on_aws=False)
    for key in spec.contract.functions:
        package = build_zip(spec.lambdas_dir / key / "app.py", *spec.payload_dirs)
        config = clients("lambda").get_function(FunctionName=spec.function_name(key))["Configuration"]
        assert config["CodeSha256"] == package.code_sha256


def test_the_zip_carries_expense_core_and_kit():
    """expense_core builds on kit (CORS policy, error classes), so the zip holds both, and nothing else of ours."""
    spec = StackSpec(stack="dev", region="us-east-1", account_id="123456789012", on_aws=False)
    names = zipfile.ZipFile(BytesIO(build_zip(spec.lambdas_dir / "add_expense" / "app.py", *spec.payload_dirs).data))
    tops = {name.split("/", 1)[0] for name in names.namelist()}
    assert tops == {"app.py", "expense_core", "kit"}
    assert "kit/cors.py" in names.namelist() and "expense_core/__init__.py" in names.namelist()
