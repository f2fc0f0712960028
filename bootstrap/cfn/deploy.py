"""`up|down --target aws --deploy cfn`: the stack through CloudFormation change sets, then the direct path's uploads.

Order, as `sam deploy` does it: package the zips and the template into an artifact bucket, create a change set, print
it, ask, execute, follow the stack events; then the same outputs.json/config.json, frontend upload and CloudFront
invalidation as the direct path, by the direct path's own resources.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from bootstrap.cfn.errors import DeployAborted, DeployError
from bootstrap.cfn.template import (
    CERTIFICATE_PATTERN,
    DOMAIN_PATTERN,
    GLUE_DATABASE_PARAMETER,
    OUTPUT_API_ID,
    OUTPUT_CLIENT_ID,
    OUTPUT_DISTRIBUTION_DOMAIN,
    OUTPUT_DISTRIBUTION_ID,
    OUTPUT_DLQ_URL,
    OUTPUT_OAC_ID,
    OUTPUT_QUEUE_URL,
    OUTPUT_TABLE_ARN,
    OUTPUT_USER_POOL_ARN,
    OUTPUT_USER_POOL_ID,
    UPLOADED_AFTER_STACK,
    CodeArtifact,
    build_template,
    check_stack_name,
    cloudformation_stack_name,
    code_artifacts,
    compact,
    mapping_output,
    role_arn_output,
)
from bootstrap.engine import (
    Change,
    RunResult,
    apply_resources,
    public_outputs,
    report_outputs,
    stack_resources,
    write_state,
)
from bootstrap.resources.apigateway import RestApi
from bootstrap.resources.base import Context, Reporter, Resource, stack_tags, tag_list
from bootstrap.resources.cloudfront import Distribution, OriginAccessControl
from bootstrap.resources.cognito import AppClient, UserPool
from bootstrap.resources.dynamodb import Table
from bootstrap.resources.iam import FunctionRole
from bootstrap.resources.lambdas import Function
from bootstrap.resources.quicksight_access import QuickSightLakeAccess
from bootstrap.resources.s3 import Bucket, LakeManifest, empty_bucket
from bootstrap.resources.triggers import EventSourceMapping, Queue
from bootstrap.spec import SpecError, StackSpec
from kit.aws_errors import error_code
from quicksight.athena import database_name

POLL_SECONDS = 5.0
# CloudFront alone can take 15-30 minutes to deploy or delete a distribution.
MAX_WAIT_SECONDS = 2 * 3600
TEMPLATE_PREFIX = "templates/"
CAPABILITIES = ["CAPABILITY_NAMED_IAM"]  # the roles have names (the direct path's)
# For parity: a stack that failed its creation can only be deleted (CloudFormation user guide, "Stack status codes").
_NOT_UPDATABLE = {"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED"}
_SUCCESS = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "IMPORT_COMPLETE"}
_TERMINAL = _SUCCESS | {
    "CREATE_FAILED",
    "ROLLBACK_COMPLETE",
    "ROLLBACK_FAILED",
    "UPDATE_ROLLBACK_COMPLETE",
    "UPDATE_ROLLBACK_FAILED",
    "DELETE_FAILED",
    "UPDATE_FAILED",
    "IMPORT_ROLLBACK_COMPLETE",
    "IMPORT_ROLLBACK_FAILED",
}
_CHANGE_SET_PENDING = {"CREATE_PENDING", "CREATE_IN_PROGRESS"}
QUICKSIGHT_CHOICES = ("auto", "enabled", "disabled")


Ask = Callable[[str], bool]


@dataclass(frozen=True)
class DeployOptions:
    """What differs per deployment, and how to wait."""

    yes: bool = False
    domain: str = ""
    certificate_arn: str = ""
    quicksight: str = "auto"
    poll_seconds: float = POLL_SECONDS
    max_wait_seconds: float = MAX_WAIT_SECONDS
    sleep: Callable[[float], None] = field(default=time.sleep)
    token: Callable[[], str] = field(default=lambda: f"bootstrap-{uuid.uuid4().hex}")


def check_options(options: DeployOptions) -> None:
    """SpecError for settings the template's parameters and rules would refuse (checked before any call)."""
    if not re.fullmatch(DOMAIN_PATTERN, options.domain):
        raise SpecError(f"--domain {options.domain!r} is not a lower-case domain name (e.g. expenses.example.com)")
    if not re.fullmatch(CERTIFICATE_PATTERN, options.certificate_arn):
        raise SpecError(
            f"--certificate-arn {options.certificate_arn!r}: CloudFront needs an ACM certificate ARN from us-east-1"
        )
    if bool(options.domain) != bool(options.certificate_arn):
        raise SpecError(
            "--domain and --certificate-arn go together (CloudFront serves an alias only with its certificate)"
        )
    if options.quicksight not in QUICKSIGHT_CHOICES:
        raise SpecError(f"--quicksight {options.quicksight!r}: one of {', '.join(QUICKSIGHT_CHOICES)}")


def artifact_bucket(spec: StackSpec) -> str:
    """The bucket that holds the Lambda zips and templates (outside the stack: the stack needs them first)."""
    return f"{spec.stack}-expense-tracker-cfn-{spec.account_id}-{spec.region}".lower()


def template_url(spec: StackSpec, key: str) -> str:
    return f"https://{artifact_bucket(spec)}.s3.{spec.region}.amazonaws.com/{key}"


def describe_stack(cfn: Any, name: str) -> dict[str, Any] | None:
    """The stack, or None when CloudFormation has none of that name (its ValidationError for a missing stack)."""
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as e:
        if error_code(e) == "ValidationError":
            return None
        raise
    return stacks[0] if stacks else None


def _upload(ctx: Context, key: str, body: bytes, content_type: str, reporter: Reporter) -> None:
    """Puts an artifact unless the same key (a content digest) is there already."""
    s3 = ctx.client("s3")
    bucket = artifact_bucket(ctx.spec)
    try:
        s3.head_object(Bucket=bucket, Key=key)
        reporter(Change(f"artifact s3://{bucket}/{key}", "unchanged").line())
        return
    except ClientError as e:
        if error_code(e) not in ("404", "NoSuchKey", "NotFound"):
            raise
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
    reporter(Change(f"artifact s3://{bucket}/{key}", "uploaded").line())


def _package(ctx: Context, artifacts: dict[str, CodeArtifact], text: str, reporter: Reporter) -> str:
    """The artifact bucket (the direct path's private, encrypted bucket), the zips, the template; its URL."""
    apply_resources(ctx, [Bucket(artifact_bucket(ctx.spec), versioned=False, output="_artifactBucket")], reporter)
    for artifact in artifacts.values():
        _upload(ctx, artifact.object_key, artifact.package.data, "application/zip", reporter)
    key = f"{TEMPLATE_PREFIX}{hashlib.sha256(text.encode('utf-8')).hexdigest()}.json"
    _upload(ctx, key, text.encode("utf-8"), "application/json", reporter)
    return template_url(ctx.spec, key)


def _quicksight(ctx: Context, options: DeployOptions, reporter: Reporter) -> str:
    """enabled / disabled; `auto` asks IAM whether QuickSight's service role exists, as the direct path does."""
    if options.quicksight != "auto":
        return options.quicksight
    access = QuickSightLakeAccess(ctx.spec.stack)
    reason = access.skip_reason(ctx, access.read(ctx))
    if reason is not None:
        reporter(f"  note: QuickSight disabled: {reason}")
        return "disabled"
    return "enabled"


def _page_token_secret(ctx: Context, creating: bool) -> str:
    """The secret the functions have (or the last outputs.json's, or a new one): the direct path's own choice."""
    key = next(iter(ctx.spec.contract.functions))
    function = Function(key, ctx.spec.function_name(key))
    current = function.read(ctx)
    if creating and current is not None:
        raise DeployError(
            f"function {function.name} exists outside CloudFormation (provisioned by the direct path?): run "
            "`make destroy-aws` first, or deploy another STACK"
        )
    return function.environment(ctx, current)["PAGE_TOKEN_SECRET"]


def _parameters(spec: StackSpec, options: DeployOptions, quicksight: str, secret: str) -> list[dict[str, str]]:
    values = {
        "StackName": spec.stack,
        "ArtifactBucket": artifact_bucket(spec),
        "PageTokenSecret": secret,
        "DomainName": options.domain,
        "CertificateArn": options.certificate_arn,
        "QuickSight": quicksight,
    }
    if spec.athena:
        values[GLUE_DATABASE_PARAMETER] = database_name(spec.stack)
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def _change_set_changes(cfn: Any, name: str, change_set: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    first: dict[str, Any] = cfn.describe_change_set(StackName=name, ChangeSetName=change_set)
    changes = list(first.get("Changes", []))
    token = first.get("NextToken")
    while token:
        page = cfn.describe_change_set(StackName=name, ChangeSetName=change_set, NextToken=token)
        changes += page.get("Changes", [])
        token = page.get("NextToken")
    return first, changes


def _wait_change_set(
    cfn: Any, name: str, change_set: str, options: DeployOptions
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    waited = 0.0
    while True:
        described, changes = _change_set_changes(cfn, name, change_set)
        if described["Status"] not in _CHANGE_SET_PENDING:
            return described, changes
        if waited >= options.max_wait_seconds:
            raise DeployError(f"change set {change_set} still {described['Status']} after {waited:.0f}s")
        options.sleep(options.poll_seconds)
        waited += options.poll_seconds


def change_line(change: dict[str, Any]) -> tuple[str, str]:
    """(verb, report line) of one resource change: add, modify, replace, modify (may replace), remove."""
    rc = change.get("ResourceChange", {})
    action = str(rc.get("Action", "?"))
    replacement = rc.get("Replacement")
    verb = action.lower()
    if action == "Modify" and replacement == "True":
        verb = "replace"
    elif action == "Modify" and replacement == "Conditional":
        verb = "may replace"
    targets: list[str] = []
    for detail in rc.get("Details", []):
        target = detail.get("Target", {})
        label = target.get("Name") or target.get("Attribute")
        if label and label not in targets:
            targets.append(str(label))
    suffix = f" ({', '.join(targets)})" if targets else ""
    return verb, f"  {verb:<13} {rc.get('ResourceType')} {rc.get('LogicalResourceId')}{suffix}"


def _print_change_set(changes: list[dict[str, Any]], reporter: Reporter) -> None:
    counts: dict[str, int] = {}
    for change in changes:
        verb, line = change_line(change)
        counts[verb] = counts.get(verb, 0) + 1
        reporter(line)
    reporter("change set: " + ", ".join(f"{n} {verb}" for verb, n in counts.items()))


@dataclass
class _Events:
    """Follows one operation's stack events (those carrying its ClientRequestToken), oldest first.

    For parity: "All events triggered by a given stack operation are assigned the same client request token"
    (CloudFormation API reference, StackEvent.ClientRequestToken), so no clock is compared.
    """

    cfn: Any
    stack_id: str
    token: str
    reporter: Reporter
    seen: set[str] = field(default_factory=set)
    failures: list[dict[str, Any]] = field(default_factory=list)
    status: str | None = None

    def poll(self) -> None:
        fresh: list[dict[str, Any]] = []
        next_token = None
        while True:
            kwargs: dict[str, Any] = {"StackName": self.stack_id}
            if next_token:
                kwargs["NextToken"] = next_token
            page = self.cfn.describe_stack_events(**kwargs)
            done = False
            for event in page.get("StackEvents", []):
                if event["EventId"] in self.seen or event.get("ClientRequestToken") != self.token:
                    done = True
                    break
                fresh.append(event)
            next_token = page.get("NextToken")
            if done or not next_token:
                break
        for event in reversed(fresh):
            self.seen.add(event["EventId"])
            self._report(event)

    def _report(self, event: dict[str, Any]) -> None:
        status = str(event.get("ResourceStatus", ""))
        reason = event.get("ResourceStatusReason")
        is_stack = event.get("ResourceType") == "AWS::CloudFormation::Stack" and event.get("PhysicalResourceId") == (
            self.stack_id
        )
        stamp = event["Timestamp"].strftime("%H:%M:%S") if hasattr(event.get("Timestamp"), "strftime") else ""
        suffix = f" ({reason})" if reason and (status.endswith("FAILED") or is_stack) else ""
        self.reporter(f"  {stamp} {status:<36} {event.get('ResourceType')} {event.get('LogicalResourceId')}{suffix}")
        if is_stack:
            self.status = status
        elif status.endswith("_FAILED") and reason:
            self.failures.append(event)

    def wait(self, options: DeployOptions) -> str:
        waited = 0.0
        while True:
            self.poll()
            if self.status in _TERMINAL:
                return self.status
            if waited >= options.max_wait_seconds:
                raise DeployError(f"stack still {self.status} after {waited:.0f}s; see the CloudFormation console")
            options.sleep(options.poll_seconds)
            waited += options.poll_seconds

    def failure_summary(self) -> str:
        if not self.failures:
            return "CloudFormation gave no resource failure"
        first = self.failures[0]
        text = (
            f"first failure: {first.get('LogicalResourceId')} ({first.get('ResourceType')}): "
            f"{first.get('ResourceStatusReason')}"
        )
        others = sorted({str(e.get("LogicalResourceId")) for e in self.failures[1:]} - {first["LogicalResourceId"]})
        return text + (f"; also failed: {', '.join(others)}" if others else "")


def _current(resource: Resource, spec: StackSpec, outputs: dict[str, str]) -> Any:
    """What a direct-path resource's export() reads, taken from the stack's outputs (None: export needs nothing)."""
    if isinstance(resource, UserPool):
        return {"Id": outputs[OUTPUT_USER_POOL_ID], "Arn": outputs[OUTPUT_USER_POOL_ARN]}
    if isinstance(resource, AppClient):
        return {"ClientId": outputs[OUTPUT_CLIENT_ID]}
    if isinstance(resource, Table):
        return {"TableArn": outputs[OUTPUT_TABLE_ARN]}
    if isinstance(resource, FunctionRole):
        return {"arn": outputs[role_arn_output(spec, resource.key)]}
    if isinstance(resource, RestApi):
        return {"id": outputs[OUTPUT_API_ID]}
    if isinstance(resource, Queue):
        url = outputs[OUTPUT_QUEUE_URL if resource.name == spec.lake_events_queue else OUTPUT_DLQ_URL]
        return {"url": url, "attributes": {}}
    if isinstance(resource, EventSourceMapping):
        return {"UUID": outputs[mapping_output(spec, resource.key)]}
    if isinstance(resource, OriginAccessControl):
        return {"Id": outputs[OUTPUT_OAC_ID]}
    if isinstance(resource, Distribution):
        return {"Id": outputs[OUTPUT_DISTRIBUTION_ID], "DomainName": outputs[OUTPUT_DISTRIBUTION_DOMAIN]}
    return None


def export_outputs(ctx: Context, stack_outputs: dict[str, str], options: DeployOptions) -> None:
    """The direct path's outputs, by the direct path's own export() of each resource, from the stack's outputs."""
    for resource in stack_resources(ctx.spec):
        if not isinstance(resource, UPLOADED_AFTER_STACK):
            resource.export(ctx, _current(resource, ctx.spec, stack_outputs))
    if options.domain:
        ctx.outputs["siteUrl"] = f"https://{options.domain}/"


def deploy(ctx: Context, options: DeployOptions, reporter: Reporter, ask: Ask) -> RunResult:
    """Creates or updates the stack through one change set (asking first unless options.yes), then uploads."""
    spec = ctx.spec
    check_stack_name(spec.stack)
    check_options(options)
    cfn = ctx.client("cloudformation")
    name = cloudformation_stack_name(spec.stack)
    reporter(f"cloudformation: stack {name} in {spec.region}, account {spec.account_id}")
    existing = describe_stack(cfn, name)
    status = existing["StackStatus"] if existing else None
    if status in _NOT_UPDATABLE:
        raise DeployError(f"stack {name} is {status}: run `make destroy-aws DEPLOY=cfn` first, then deploy again")
    if status and status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        raise DeployError(f"stack {name} is {status}: wait for it to finish")
    creating = status in (None, "REVIEW_IN_PROGRESS")
    quicksight = _quicksight(ctx, options, reporter)
    secret = _page_token_secret(ctx, creating)
    artifacts = code_artifacts(spec)
    template = build_template(spec.stack, project_root=spec.project_root, artifacts=artifacts, athena=spec.athena)
    url = _package(ctx, artifacts, compact(template), reporter)

    change_set = f"bootstrap-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        created = cfn.create_change_set(
            StackName=name,
            ChangeSetName=change_set,
            ChangeSetType="CREATE" if creating else "UPDATE",
            TemplateURL=url,
            Parameters=_parameters(spec, options, quicksight, secret),
            Capabilities=CAPABILITIES,
            Tags=tag_list(stack_tags(spec.stack)),
            Description=f"python -m bootstrap up --deploy cfn, stack {spec.stack}",
        )
    except ClientError as e:
        # CloudFormation's own words (template, parameter or rule errors) are what the user needs to fix it.
        message = e.response.get("Error", {}).get("Message", "")
        raise DeployError(f"CloudFormation refused the change set ({error_code(e)}): {message}") from e
    stack_id = str(created["StackId"])
    described, changes = _wait_change_set(cfn, name, change_set, options)
    reporter(f"change set {change_set} ({'create' if creating else 'update'} of {name}):")
    if described["Status"] == "FAILED":
        cfn.delete_change_set(StackName=name, ChangeSetName=change_set)
        if creating or changes:
            raise DeployError(f"change set {change_set} failed: {described.get('StatusReason')}")
        # For parity: CloudFormation marks an update's change set FAILED when it contains no change, with a reason
        # worded "The submitted information didn't contain changes..." or "No updates are to be performed."
        # (public captures: ansible-collections/amazon.aws#507); the decision rests on FAILED + no Changes.
        reporter(f"  nothing to change in the stack (CloudFormation: {described.get('StatusReason')})")
    else:
        _print_change_set(changes, reporter)
        if not options.yes:
            try:
                go = ask(f"Execute change set {change_set} on {name} in account {spec.account_id} ({spec.region})?")
            except BaseException:
                _discard(cfn, name, change_set, creating, stack_id)
                raise
            if not go:
                _discard(cfn, name, change_set, creating, stack_id)
                raise DeployAborted("aborted; the change set was deleted and the stack is unchanged")
        token = options.token()
        events = _Events(cfn, stack_id, token, reporter)
        cfn.execute_change_set(StackName=name, ChangeSetName=change_set, ClientRequestToken=token)
        final = events.wait(options)
        if final not in _SUCCESS:
            hint = " (a failed creation: `make destroy-aws DEPLOY=cfn` before the next deploy)" if creating else ""
            raise DeployError(f"stack {name} ended {final}{hint}; {events.failure_summary()}")
    stack = describe_stack(cfn, name)
    if stack is None:
        raise DeployError(f"stack {name} vanished after its deploy")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    export_outputs(ctx, outputs, options)
    uploads = [
        r
        for r in stack_resources(spec)
        if isinstance(r, UPLOADED_AFTER_STACK) and (quicksight == "enabled" or not isinstance(r, LakeManifest))
    ]
    applied = apply_resources(ctx, uploads, reporter)
    for note in ctx.notes:
        reporter(f"  note: {note}")
    write_state(ctx)
    reporter(f"up: stack {name} {stack['StackStatus']}")
    report_outputs(ctx, reporter)
    return RunResult(applied, public_outputs(ctx.outputs))


def _discard(cfn: Any, name: str, change_set: str, creating: bool, stack_id: str) -> None:
    """Removes an unexecuted change set, and the empty REVIEW_IN_PROGRESS stack a create change set leaves."""
    cfn.delete_change_set(StackName=name, ChangeSetName=change_set)
    if creating:
        cfn.delete_stack(StackName=stack_id)


def _stack_resources(cfn: Any, stack_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    token = None
    while True:
        kwargs: dict[str, Any] = {"StackName": stack_id}
        if token:
            kwargs["NextToken"] = token
        page = cfn.list_stack_resources(**kwargs)
        found += page.get("StackResourceSummaries", [])
        token = page.get("NextToken")
        if not token:
            return found


def destroy(ctx: Context, options: DeployOptions, reporter: Reporter, ask: Ask) -> RunResult:
    """Deletes the stack: its buckets emptied of every version and deletion protection lifted first, after asking."""
    spec = ctx.spec
    cfn = ctx.client("cloudformation")
    name = cloudformation_stack_name(spec.stack)
    reporter(f"cloudformation: stack {name} in {spec.region}, account {spec.account_id}")
    stack = describe_stack(cfn, name)
    artifacts = Bucket(artifact_bucket(spec), versioned=False, output="_artifactBucket")
    artifacts_current = artifacts.read(ctx)
    if stack is None and artifacts_current is None:
        reporter(f"down: stack {name} does not exist; nothing to delete")
        return RunResult([], {})
    listed = [] if stack is None else _stack_resources(cfn, stack["StackId"])
    live = [r for r in listed if r.get("ResourceStatus") != "DELETE_COMPLETE"]
    for resource in live:
        label = f"{resource['ResourceType']} {resource['LogicalResourceId']}"
        reporter(Change(label, "would delete", (str(resource.get("PhysicalResourceId")),)).line())
    buckets = [
        r["PhysicalResourceId"] for r in live if r["ResourceType"] == "AWS::S3::Bucket" and r.get("PhysicalResourceId")
    ]
    if artifacts_current is not None:
        reporter(f"  would delete  s3 bucket {artifacts.name} (the deploy's artifacts, outside the stack)")
    if not options.yes:
        emptied = ", ".join([*buckets, *([artifacts.name] if artifacts_current is not None else [])])
        question = f"DELETE stack {name} ({len(live)} resources) in account {spec.account_id} ({spec.region})" + (
            f", emptying {emptied} of every object version first?" if emptied else "?"
        )
        if not ask(question):
            raise DeployAborted("aborted; nothing was deleted")
    changes: list[Change] = []
    if stack is not None:
        s3 = ctx.client("s3")
        for bucket in buckets:
            removed = empty_bucket(s3, bucket)
            reporter(Change(f"s3 bucket {bucket}", "emptied", (f"{removed} versions and markers",)).line())
        for resource in live:
            if resource["ResourceType"] == "AWS::DynamoDB::Table" and resource.get("PhysicalResourceId"):
                # For parity: AWS refuses DeleteTable while deletion protection is on (as Table.delete lifts it).
                ctx.client("dynamodb").update_table(
                    TableName=resource["PhysicalResourceId"], DeletionProtectionEnabled=False
                )
                reporter(Change(f"dynamodb table {resource['PhysicalResourceId']}", "unprotected").line())
        token = options.token()
        events = _Events(cfn, stack["StackId"], token, reporter)
        cfn.delete_stack(StackName=stack["StackId"], ClientRequestToken=token)
        final = events.wait(options)
        if final != "DELETE_COMPLETE":
            raise DeployError(f"stack {name} ended {final}; {events.failure_summary()}")
        changes.append(Change(f"cloudformation stack {name}", "deleted", (f"{len(live)} resources",)))
        reporter(changes[-1].line())
    if artifacts_current is not None:
        artifacts.delete(ctx, artifacts_current)
        changes.append(Change(artifacts.label, "deleted"))
        reporter(changes[-1].line())
    for path in (ctx.layout.outputs_file, ctx.layout.config_file):
        path.unlink(missing_ok=True)
    reporter(f"down: stack {name} deleted")
    return RunResult(changes, {})
