"""Runs the resource list of a stack: up, plan, down, status, with one report line per resource."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bootstrap.policies import data_bucket_policy, frontend_bucket_policy
from bootstrap.read_cache import Observed, ReadCache, fingerprint
from bootstrap.resources.analytics_catalog import analytics_resources
from bootstrap.resources.apigateway import GatewayResponses, RestApi, Stage
from bootstrap.resources.base import PENDING, Context, Reporter, Resource
from bootstrap.resources.cloudfront import Distribution, OriginAccessControl, ResponseHeadersPolicy
from bootstrap.resources.cognito import AppClient, UserPool
from bootstrap.resources.dynamodb import Table
from bootstrap.resources.iam import FunctionRole
from bootstrap.resources.lambdas import Function, InvokePermission, previous_secret
from bootstrap.resources.quicksight_access import QuickSightLakeAccess
from bootstrap.resources.s3 import Bucket, BucketLifecycle, BucketPolicy, LakeManifest, SiteFiles, frontend_config
from bootstrap.resources.triggers import (
    BucketNotification,
    EventSourceMapping,
    Queue,
    QueuePolicy,
    dlq_attributes,
    queue_attributes,
)
from bootstrap.spec import API_STAGE, StackSpec
from bootstrap.target import Target
from kit.contract import CONTRACT_PATH, load_contract
from kit.state import StateLayout, ensure_private_dir, write_private
from localaws.mutations import WriteLedger


@dataclass(frozen=True)
class Change:
    """What happened (or would happen) to one resource."""

    label: str
    action: str  # created | updated | unchanged | deleted | absent | skipped | would create | would update ...
    details: tuple[str, ...] = ()

    def line(self) -> str:
        suffix = f" ({', '.join(self.details)})" if self.details else ""
        return f"  {self.action:<13} {self.label}{suffix}"


def stack_resources(spec: StackSpec) -> list[Resource]:
    """The one definition of the stack, in dependency order (down runs it backwards)."""
    functions = list(spec.contract.functions)
    resources: list[Resource] = [
        UserPool(spec.user_pool_name),
        AppClient(),
        Table(spec.table_name),
        Bucket(spec.data_bucket, versioned=True, output="dataBucket"),
        BucketPolicy(spec.data_bucket, lambda ctx: data_bucket_policy(ctx.spec)),
        LakeManifest(spec.data_bucket),
        BucketLifecycle(spec.data_bucket),
    ]
    resources += [FunctionRole(key, spec.role_name(key)) for key in functions]
    resources += [Function(key, spec.function_name(key)) for key in functions]
    if spec.trigger_functions:
        # The lake's events: DLQ, queue, its policy (S3 validates it), the bucket's notifications, the mappings.
        resources += [
            Queue(spec.lake_events_dlq, dlq_attributes, output="lakeEventsDlq"),
            Queue(spec.lake_events_queue, queue_attributes, output="lakeEventsQueue"),
            QueuePolicy(spec.lake_events_queue),
            BucketNotification(spec.data_bucket),
        ]
        resources += [EventSourceMapping(key, spec.function_name(key)) for key in spec.trigger_functions]
    resources += [RestApi(spec.api_name), GatewayResponses(spec.api_name), Stage(API_STAGE)]
    # for parity: only API functions get API Gateway's invoke permission (a trigger function is invoked by its
    # event source mapping, with the execution role's permission on the queue).
    resources += [InvokePermission(key, spec.function_name(key)) for key in spec.api_functions]
    resources += [
        Bucket(spec.frontend_bucket, versioned=True, output="frontendBucket"),
        OriginAccessControl(spec.oac_name),
        ResponseHeadersPolicy(spec.headers_policy_name),
        Distribution(spec.distribution_comment),
        BucketPolicy(spec.frontend_bucket, lambda ctx: frontend_bucket_policy(ctx.spec, ctx.output("distributionId"))),
        SiteFiles(spec.frontend_bucket),
        QuickSightLakeAccess(spec.stack),
    ]
    if spec.athena:
        resources += analytics_resources(spec)
    return resources


def _context(
    target: Target,
    stack: str,
    region: str,
    state_root: Path,
    dry_run: bool,
    athena: bool = False,
    contract_path: Path = CONTRACT_PATH,
) -> Context:
    contract = load_contract(contract_path)  # api/openapi.yaml, or an overlay of it (kit.contract.OVERLAY_KEY)
    probe = Context(
        spec=StackSpec(stack=stack, region=region, account_id="000000000000", on_aws=target.is_aws, contract=contract),
        target=target,
        layout=StateLayout(Path(state_root), stack),
        dry_run=dry_run,
    )
    account = probe.client("sts").get_caller_identity()["Account"]
    spec = StackSpec(
        stack=stack, region=region, account_id=account, on_aws=target.is_aws, athena=athena, contract=contract
    )
    ctx = Context(spec=spec, target=target, layout=probe.layout, dry_run=dry_run)
    ctx._clients = probe._clients
    ctx.outputs.update(_base_outputs(ctx))
    return ctx


def _base_outputs(ctx: Context) -> dict[str, Any]:
    spec = ctx.spec
    cognito = (
        f"https://cognito-idp.{spec.region}.amazonaws.com/"
        if ctx.target.is_aws
        else f"{ctx.target.endpoint_for('cognito-idp')}/"
    )
    return {
        "region": spec.region,
        "stack": spec.stack,
        "accountId": spec.account_id,
        "target": ctx.target.describe(),
        "cognitoEndpoint": cognito,
        "tableName": spec.table_name,
        "dataBucket": spec.data_bucket,
        "frontendBucket": spec.frontend_bucket,
    }


def public_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    """Outputs without the run's internal bookkeeping."""
    return {k: v for k, v in outputs.items() if not k.startswith("_")}


def _write_state(ctx: Context) -> None:
    layout = ctx.layout
    ensure_private_dir(layout.stack_dir)
    # 0600 like every state file (outputs.json holds the pagination-token secret).
    write_private(layout.outputs_file, json.dumps(public_outputs(ctx.outputs), indent=2, sort_keys=True) + "\n")
    write_private(layout.config_file, json.dumps(frontend_config(ctx.outputs), indent=2, sort_keys=True) + "\n")


def _groups(resources: list[Resource]) -> list[list[Resource]]:
    """Runs of consecutive resources of one kind (five roles, five functions...): their reads are independent."""
    groups: list[list[Resource]] = []
    for resource in resources:
        if groups and type(groups[-1][0]) is type(resource):
            groups[-1].append(resource)
        else:
            groups.append([resource])
    return groups


def _read(ctx: Context, resource: Resource) -> Observed:
    view = ctx.tracking()
    current = resource.read(view)
    return Observed(current, frozenset(view.services_used or ()))


def _read_group(ctx: Context, group: list[Resource]) -> list[Observed]:
    """Reads a group, the first on this thread (it creates the client), the rest concurrently."""
    if not group:
        return []
    first = _read(ctx, group[0])
    if len(group) == 1:
        return [first]
    with ThreadPoolExecutor(max_workers=len(group) - 1) as pool:
        return [first, *pool.map(lambda r: _read(ctx, r), group[1:])]


def _observe(
    ctx: Context, resources: list[Resource], cache: ReadCache | None = None
) -> Iterator[tuple[Resource, Observed, bool]]:
    """Each applicable resource with its state: (resource, observed, whether it came from ``cache``)."""
    elsewhere = frozenset(service for service, _ in ctx.target.overrides)  # e.g. dynamodb on DynamoDB Local
    for group in _groups([r for r in resources if r.applies(ctx)]):
        saved = {r.label: cache.lookup(r.label, elsewhere) for r in group} if cache is not None else {}
        fresh = iter(_read_group(ctx, [r for r in group if saved.get(r.label) is None]))
        for resource in group:
            found = saved.get(resource.label)
            yield (resource, found, True) if found is not None else (resource, next(fresh), False)


def _each_with_state(ctx: Context, resources: list[Resource]) -> Iterator[tuple[Resource, Any]]:
    for resource, observed, _ in _observe(ctx, resources):
        yield resource, observed.current


def _apply(ctx: Context, resource: Resource, current: Any, reporter: Reporter) -> tuple[Change, Any]:
    reason = resource.skip_reason(ctx, current)
    if reason is not None:
        change = Change(resource.label, "skipped", (reason,))
    elif current is None:
        if not ctx.dry_run:
            current = resource.create(ctx)
        change = Change(resource.label, "would create" if ctx.dry_run else "created")
    else:
        changes = resource.diff(ctx, current)
        if not changes:
            change = Change(resource.label, "unchanged")
        else:
            if not ctx.dry_run:
                current = resource.update(ctx, current, changes)
            change = Change(resource.label, "would update" if ctx.dry_run else "updated", tuple(changes))
    resource.export(ctx, current)
    reporter(change.line())
    return change, current


@dataclass
class RunResult:
    """The report of one run: the changes and the outputs."""

    changes: list[Change]
    outputs: dict[str, Any]

    @property
    def changed(self) -> bool:
        return any(c.action not in ("unchanged", "skipped", "absent") for c in self.changes)


def run_up(
    target: Target,
    stack: str,
    region: str,
    reporter: Reporter,
    state_root: Path,
    dry_run: bool = False,
    athena: bool = False,
    contract_path: Path = CONTRACT_PATH,
    ledger: Callable[[], WriteLedger] | None = None,
) -> RunResult:
    """``ledger``: the embedded backend's write ledger, when the caller owns that backend (the dev server); reads
    saved by the last `up` are then used instead of reading again while it shows no change (bootstrap/read_cache)."""
    started = time.monotonic()
    ctx = _context(target, stack, region, state_root, dry_run, athena, contract_path)
    verb = "plan" if dry_run else "up"
    reporter(f"{verb}: stack {stack} in {region}, account {ctx.spec.account_id}, {target.describe()}")
    cache = None
    if ledger is not None and not dry_run:
        wanted = fingerprint(ledger(), ctx.spec, target.endpoint_url)
        cache = ReadCache.load(ctx.layout.read_cache_file, wanted, previous_secret(ctx))
    changes, reads, cached = [], {}, 0
    for resource, observed, from_cache in _observe(ctx, stack_resources(ctx.spec), cache):
        change, current = _apply(ctx, resource, observed.current, reporter)
        changes.append(change)
        cached += from_cache
        reads[resource] = (change, Observed(current, observed.services))
    if cache is not None:
        why = "the backend shows no change since" if cached else "none saved, or the backend shows a change since"
        reporter(f"  saved reads used for {cached} of {len(reads)} resources ({why})")
    for note in ctx.notes:
        reporter(f"  note: {note}")
    result = RunResult(changes, public_outputs(ctx.outputs))
    counts: dict[str, int] = {}
    for c in changes:
        counts[c.action] = counts.get(c.action, 0) + 1
    summary = ", ".join(f"{n} {a}" for a, n in counts.items())
    if dry_run:
        reporter(f"plan: {summary}" + ("" if result.changed else "; nothing to do"))
        return result
    _write_state(ctx)
    if ledger is not None:
        _save_reads(ctx, reads, ledger)
    verdict = "changed" if result.changed else "no changes"
    reporter(f"up: {verdict} ({summary}) in {time.monotonic() - started:.1f}s")
    _report_outputs(result.outputs, reporter, ctx.layout)
    return result


def _save_reads(
    ctx: Context, reads: dict[Resource, tuple[Change, Observed]], ledger: Callable[[], WriteLedger]
) -> None:
    """Saves this run's reads for the next `up`; what it created or updated is read again first, since what a create
    or an update returns need not be all a read shows (on a stack's first start: every resource, about 0.4 s, so that
    the second start needs no read either)."""
    changed = [resource for resource, (change, _) in reads.items() if change.action in ("created", "updated")]
    saved = {resource.label: observed for resource, (_, observed) in reads.items() if resource not in changed}
    path = ctx.layout.read_cache_file
    try:
        for group in _groups(changed):
            saved.update(zip((r.label for r in group), _read_group(ctx, group), strict=True))
        ReadCache.save(path, fingerprint(ledger(), ctx.spec, ctx.target.endpoint_url), saved, ctx.page_token_secret)
    except (BotoCoreError, ClientError, OSError):
        ReadCache.forget(path)  # the up itself succeeded; the next one reads everything


def _report_outputs(outputs: dict[str, Any], reporter: Reporter, layout: StateLayout) -> None:
    for key in (
        "region",
        "userPoolId",
        "clientId",
        "issuer",
        "tableName",
        "dataBucket",
        "frontendBucket",
        "apiId",
        "apiUrl",
        "siteUrl",
        "analyticsDatabase",  # --athena
        "athenaWorkGroup",
        "lakeEventsQueueUrl",
    ):
        if key in outputs:
            reporter(f"  {key:<15} {outputs[key]}")
    reporter(f"  outputs written to {layout.outputs_file} and {layout.config_file}")


def _read_all(ctx: Context) -> list[tuple[Resource, Any]]:
    found = []
    for resource, current in _each_with_state(ctx, stack_resources(ctx.spec)):
        resource.export(ctx, current)
        found.append((resource, current))
    return found


def run_down(
    target: Target,
    stack: str,
    region: str,
    reporter: Reporter,
    state_root: Path,
    athena: bool = False,
    contract_path: Path = CONTRACT_PATH,
) -> RunResult:
    ctx = _context(target, stack, region, state_root, False, athena, contract_path)
    reporter(f"down: stack {stack} in {region}, account {ctx.spec.account_id}, {target.describe()}")
    changes = []
    for resource, current in reversed(_read_all(ctx)):
        reason = resource.skip_reason(ctx, current)
        if reason is not None:
            change = Change(resource.label, "skipped", (reason,))
        elif current is None:
            change = Change(resource.label, "absent")
        else:
            resource.delete(ctx, current)
            details = (f"with its {resource.parent}",) if resource.parent else ()
            change = Change(resource.label, "deleted", details)
        reporter(change.line())
        changes.append(change)
    for path in (ctx.layout.outputs_file, ctx.layout.config_file, ctx.layout.read_cache_file):
        path.unlink(missing_ok=True)
    deleted = sum(c.action == "deleted" for c in changes)
    reporter(f"down: {deleted} deleted, {sum(c.action == 'absent' for c in changes)} already absent")
    return RunResult(changes, {})


def run_status(
    target: Target,
    stack: str,
    region: str,
    reporter: Reporter,
    state_root: Path,
    athena: bool = False,
    contract_path: Path = CONTRACT_PATH,
) -> RunResult:
    ctx = _context(target, stack, region, state_root, True, athena, contract_path)
    reporter(f"status: stack {stack} in {region}, account {ctx.spec.account_id}, {target.describe()}")
    changes = []
    for resource, current in _each_with_state(ctx, stack_resources(ctx.spec)):
        reason = resource.skip_reason(ctx, current)
        if reason is not None:
            change = Change(resource.label, "skipped", (reason,))
        elif current is None:
            change = Change(resource.label, "missing")
        else:
            drift = resource.diff(ctx, current)
            change = Change(resource.label, "drifted" if drift else "in sync", tuple(drift))
        resource.export(ctx, current)
        reporter(change.line())
        changes.append(change)
    outputs = public_outputs(ctx.outputs)
    data_bucket = f"s3 bucket {ctx.spec.data_bucket}"
    if any(c.label == data_bucket and c.action != "missing" for c in changes):
        _lake_check(ctx, reporter)
    missing = sum(c.action == "missing" for c in changes)
    drifted = sum(c.action == "drifted" for c in changes)
    reporter(f"status: {len(changes) - missing - drifted} in sync, {drifted} drifted, {missing} missing")
    return RunResult(changes, outputs)


def _lake_check(ctx: Context, reporter: Reporter) -> None:
    import quicksight  # lazy: the lake check belongs to the quicksight package

    problems = quicksight.check_lake(ctx.client("s3"), ctx.spec.data_bucket)
    if not problems:
        reporter("  lake check    ok: QuickSight can import the lake")
    for problem in problems:
        reporter(f"  lake check    {problem}")


# The pieces of a run other deploy paths reuse (bootstrap.cfn: the same outputs, uploads and report).
def context_for(
    target: Target, stack: str, region: str, state_root: Path, dry_run: bool = False, athena: bool = False
) -> Context:
    """A run's context: the spec with the caller's account (from STS), clients, the base outputs."""
    return _context(target, stack, region, state_root, dry_run, athena)


def apply_resources(ctx: Context, resources: list[Resource], reporter: Reporter) -> list[Change]:
    """Creates or updates `resources` exactly as `up` does, one report line each."""
    return [_apply(ctx, r, current, reporter)[0] for r, current in _each_with_state(ctx, resources)]


def write_state(ctx: Context) -> None:
    """outputs.json (0600) and the frontend's config.json under the stack's state directory."""
    _write_state(ctx)


def report_outputs(ctx: Context, reporter: Reporter) -> None:
    _report_outputs(public_outputs(ctx.outputs), reporter, ctx.layout)


__all__ = [
    "PENDING",
    "Change",
    "RunResult",
    "apply_resources",
    "context_for",
    "report_outputs",
    "run_down",
    "run_status",
    "run_up",
    "stack_resources",
    "write_state",
]
