"""`up` on the embedded backend uses the last up's reads while the backend's write ledger shows nothing but data
changed, and reads again (and repairs) as soon as anything else did (bootstrap/read_cache.py)."""

from __future__ import annotations

import json
import re
import stat
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from bootstrap.engine import run_up, stack_resources
from bootstrap.read_cache import SECRET_MARKER, fingerprint
from bootstrap.spec import StackSpec
from bootstrap.target import Target
from kit.constants import LOCAL_ACCOUNT_ID
from kit.contract import load_contract
from kit.state import StateLayout
from localaws.mutations import CONTROL_SCOPE, DATA_SCOPE, S3_OBJECT_SCOPE, WriteLedger
from tests.bootstrap.conftest import Recorder
from tests.parity.targets import PROBE_CONTRACT

pytestmark = pytest.mark.integration

REGION = "us-east-1"
_USED = re.compile(r"saved reads used for (\d+) of (\d+) resources")


class Run(Recorder):
    """A reporter that keeps the lines, and the run's outputs."""

    outputs: dict[str, Any]


class Stack:
    """One stack on a module's embedded backend, brought up with the backend's ledger as the dev server does."""

    def __init__(self, backend: Any, root: Path, name: str) -> None:
        self.backend, self.root, self.name = backend, root, name
        self.target = Target.endpoint(str(backend.endpoint_url))
        self.layout = StateLayout(root, name)

    def up(self, target: Target | None = None, **options: Any) -> Run:
        run = Run()
        result = run_up(target or self.target, self.name, REGION, run, self.root, ledger=self.backend.write_ledger,
                        **options)  # fmt: skip
        run.outputs = result.outputs
        return run

    def steady(self) -> Run:
        """Ups until a run uses every saved read (the first ones create, then read what they created)."""
        for _ in range(3):
            recorder = self.up()
            if used(recorder) == (total(recorder), total(recorder)):
                return recorder
        raise AssertionError(f"no steady run: {recorder.lines}")

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service, endpoint_url=str(self.backend.endpoint_url), region_name=REGION,
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )  # fmt: skip


def used(recorder: Recorder) -> tuple[int, int]:
    found = [m for line in recorder.lines if (m := _USED.search(line))]
    assert len(found) == 1, recorder.lines
    return int(found[0].group(1)), int(found[0].group(2))


def total(recorder: Recorder) -> int:
    return len(recorder.actions())


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from localaws import EmbeddedBackend

    server = EmbeddedBackend(tmp_path_factory.mktemp("read-cache") / "backend", region=REGION)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def stack(backend: Any, tmp_path_factory: pytest.TempPathFactory) -> Stack:
    made = Stack(backend, tmp_path_factory.mktemp("state"), "rc" + uuid.uuid4().hex[:6])
    made.steady()
    return made


def test_a_restart_with_nothing_changed_reads_nothing_and_decides_as_a_full_read_does(stack: Stack) -> None:
    cached = stack.steady()
    assert set(cached.actions().values()) == {"unchanged"}
    full = Recorder()
    result = run_up(stack.target, stack.name, REGION, full, stack.root)  # no ledger: every resource read
    assert full.actions() == cached.actions()
    assert result.outputs == cached.outputs


def test_data_plane_writes_keep_the_saved_reads(stack: Stack) -> None:
    outputs = stack.steady().outputs
    s3 = stack.client("s3")
    s3.put_object(Bucket=outputs["dataBucket"], Key="expenses/u1/2026/11/e1.json", Body=b"{}")
    s3.put_object(Bucket=outputs["dataBucket"], Key="analytics/expenses/created_month=2026-11/part-000.json", Body=b"")
    s3.delete_object(Bucket=outputs["dataBucket"], Key="expenses/u1/2026/11/e1.json")
    stack.client("sqs").send_message(QueueUrl=outputs["lakeEventsQueueUrl"], MessageBody="{}")
    stack.client("cognito-idp").sign_up(ClientId=outputs["clientId"], Username="reader", Password="Passw0rd!x")
    recorder = stack.up()
    assert used(recorder) == (total(recorder), total(recorder))


def _delete_manifest(stack: Stack, outputs: dict[str, Any]) -> str:
    stack.client("s3").delete_object(Bucket=outputs["dataBucket"], Key="manifest.json")
    return f"quicksight manifest s3://{outputs['dataBucket']}/manifest.json"


def _shorten_visibility(stack: Stack, outputs: dict[str, Any]) -> str:
    sqs = stack.client("sqs")
    sqs.set_queue_attributes(QueueUrl=outputs["lakeEventsQueueUrl"], Attributes={"VisibilityTimeout": "31"})
    return f"sqs queue {stack.name}-lake-events"


def _change_timeout(stack: Stack, outputs: dict[str, Any]) -> str:
    name = outputs["functionNames"]["add_expense"]
    stack.client("lambda").update_function_configuration(FunctionName=name, Timeout=3)
    return f"lambda function {name}"


def _drop_lifecycle(stack: Stack, outputs: dict[str, Any]) -> str:
    stack.client("s3").delete_bucket_lifecycle(Bucket=outputs["dataBucket"])
    return f"s3 bucket lifecycle {outputs['dataBucket']}"


@pytest.mark.parametrize("drift", [_delete_manifest, _shorten_visibility, _change_timeout, _drop_lifecycle])
def test_a_configuration_change_by_anyone_is_read_again_and_repaired(
    stack: Stack, drift: Callable[[Stack, dict[str, Any]], str]
) -> None:
    label = drift(stack, stack.steady().outputs)
    recorder = stack.up()
    assert used(recorder) == (0, total(recorder))
    assert recorder.actions()[label] in ("created", "updated")
    assert set(stack.steady().actions().values()) == {"unchanged"}


def test_a_resource_served_elsewhere_is_always_read(stack: Stack) -> None:
    """The table on DynamoDB Local: its writes are not in the ledger, so its saved read is never used."""
    stack.steady()
    url = str(stack.backend.endpoint_url)
    recorder = stack.up(Target.endpoint(url, {"dynamodb": url}))
    assert used(recorder) == (total(recorder) - 1, total(recorder))
    saved = json.loads(stack.layout.read_cache_file.read_text())["resources"]
    assert saved[f"dynamodb table {stack.name}-Expenses"]["services"] == ["dynamodb"]


def test_a_damaged_cache_file_means_reading_everything(stack: Stack) -> None:
    stack.steady()
    stack.layout.read_cache_file.write_text('{"format": 1, "fingerprint": "')
    recorder = stack.up()
    assert used(recorder) == (0, total(recorder))
    assert set(recorder.actions().values()) == {"unchanged"}


def test_the_cache_file_is_owner_only_and_holds_no_copy_of_the_page_token_secret(stack: Stack) -> None:
    outputs = stack.steady().outputs
    secret = outputs["functionEnvironment"]["add_expense"]["PAGE_TOKEN_SECRET"]
    path = stack.layout.read_cache_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert secret not in text and SECRET_MARKER in text


def test_a_new_definition_is_still_applied_with_saved_reads(backend: Any, tmp_path: Path) -> None:
    """The definitions are compared with the saved reads: the probe overlay's extra function is created, the
    resources the two contracts share come from the saved reads."""
    probe = Stack(backend, tmp_path, "rp" + uuid.uuid4().hex[:6])
    before = probe.steady()
    recorder = probe.up(contract_path=PROBE_CONTRACT)
    created = {label for label, action in recorder.actions().items() if action == "created"}
    assert created and all("Probe" in label or "probe" in label for label in created), created
    saved, of = used(recorder)
    assert saved == total(before) and of == total(recorder) > saved


def test_the_fingerprint_moves_with_the_state_id_the_endpoint_and_non_data_writes_only() -> None:
    spec = StackSpec(stack="dev", region=REGION, account_id=LOCAL_ACCOUNT_ID, on_aws=False, contract=load_contract())
    lake = f"{S3_OBJECT_SCOPE}{spec.data_bucket}"
    base = {CONTROL_SCOPE: 3, DATA_SCOPE: 1, f"{lake}/expenses": 1, f"{S3_OBJECT_SCOPE}{spec.frontend_bucket}/js": 1}
    here = "http://127.0.0.1:4566"
    reference = fingerprint(WriteLedger("a" * 16, base), spec, here)
    data = {**base, DATA_SCOPE: 9, f"{lake}/expenses": 7, f"{lake}/analytics": 2}
    assert fingerprint(WriteLedger("a" * 16, data), spec, here) == reference
    for changed in (
        WriteLedger("b" * 16, base),
        WriteLedger("a" * 16, {**base, CONTROL_SCOPE: 4}),
        WriteLedger("a" * 16, {**base, f"{lake}/manifest.json": 1}),
        WriteLedger("a" * 16, {**base, f"{S3_OBJECT_SCOPE}{spec.frontend_bucket}/js": 2}),
        WriteLedger("a" * 16, {**base, f"{lake}/*": 1}),
    ):
        assert fingerprint(changed, spec, here) != reference, changed
    assert fingerprint(WriteLedger("a" * 16, base), spec, "http://127.0.0.1:4567") != reference
    assert fingerprint(WriteLedger("a" * 16, base, engine="moto 9.9.9"), spec, here) != reference


def test_every_resource_of_a_stack_has_its_own_label() -> None:
    """Saved reads are keyed by label."""
    for contract in (load_contract(), load_contract(PROBE_CONTRACT)):
        for athena in (False, True):
            spec = StackSpec(stack="dev", region=REGION, account_id=LOCAL_ACCOUNT_ID, on_aws=athena, athena=athena,
                             contract=contract)  # fmt: skip
            labels = [resource.label for resource in stack_resources(spec)]
            assert len(labels) == len(set(labels))


def test_a_failure_to_save_the_reads_leaves_the_up_done_and_no_saved_reads(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.steady()

    def disk_full(*args: object, **kwargs: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("bootstrap.engine.ReadCache.save", disk_full)
    assert set(stack.up().actions().values()) == {"unchanged"}
    assert not stack.layout.read_cache_file.exists()
    monkeypatch.undo()
    assert used(stack.up())[0] == 0  # read everything, and saved again
    assert set(stack.steady().actions().values()) == {"unchanged"}
