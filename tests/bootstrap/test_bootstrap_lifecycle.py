"""up / plan / status / down against a moto server: idempotency, reports, outputs, complete removal."""

from __future__ import annotations

import io
import json
import zipfile

import bootstrap
from bootstrap.engine import stack_resources
from bootstrap.spec import StackSpec
from kit.contract import load_contract
from kit.cors import to_env as cors_env

REQUIRED_OUTPUTS = {
    "region",
    "stack",
    "userPoolId",
    "userPoolArn",
    "clientId",
    "issuer",
    "jwksUrl",
    "tableName",
    "dataBucket",
    "frontendBucket",
    "apiId",
    "apiUrl",
    "functionEnvironment",
    "lakeEventsQueueUrl",
    "lakeEventsQueueArn",
    "lakeEventsDlqUrl",
    "triggers",
}


def test_up_twice_then_down_leaves_nothing(target, stack, tmp_path, recorder, clients):
    outputs = bootstrap.up(target, stack=stack, reporter=recorder, state_root=tmp_path)
    first = recorder.actions()
    assert set(first.values()) <= {"created", "updated"}
    local_resources = [
        r
        for r in stack_resources(StackSpec(stack, "us-east-1", "123456789012", on_aws=False))
        if r.kind not in ("quicksight s3 access", "cloudfront response headers policy")  # AWS-only resources
    ]
    assert len(first) == len(local_resources)

    again = type(recorder)()
    assert bootstrap.up(target, stack=stack, reporter=again, state_root=tmp_path) == outputs
    assert set(again.actions().values()) == {"unchanged"}
    assert any(line.startswith("up: no changes") for line in again.lines)

    s3 = clients("s3")
    bucket = outputs["dataBucket"]
    s3.put_object(Bucket=bucket, Key="expenses/u/1.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="expenses/u/1.json", Body=b"{ }")
    s3.delete_object(Bucket=bucket, Key="expenses/u/1.json")  # leaves a delete marker

    gone = type(recorder)()
    bootstrap.down(target, stack=stack, reporter=gone, state_root=tmp_path)
    assert set(gone.actions().values()) == {"deleted"}
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert bucket not in buckets and outputs["frontendBucket"] not in buckets
    assert not [f for f in clients("lambda").list_functions()["Functions"] if f["FunctionName"].startswith(stack)]
    assert not [a for a in clients("apigateway").get_rest_apis()["items"] if a["name"].startswith(stack)]
    assert not [r for r in clients("iam").list_roles()["Roles"] if r["RoleName"].startswith(stack)]
    assert not [t for t in clients("dynamodb").list_tables()["TableNames"] if t.startswith(stack)]
    assert not [q for q in clients("sqs").list_queues().get("QueueUrls", []) if f"/{stack}-" in q]
    mappings = clients("lambda").list_event_source_mappings()["EventSourceMappings"]
    assert not [m for m in mappings if m["EventSourceArn"].endswith(f":{stack}-lake-events")]
    pools = clients("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
    assert not [p for p in pools if p["Name"].startswith(stack)]
    dists = clients("cloudfront").list_distributions()["DistributionList"].get("Items") or []
    assert not [d for d in dists if d["Comment"].startswith(stack)]
    oacs = clients("cloudfront").list_origin_access_controls()["OriginAccessControlList"].get("Items") or []
    assert not [o for o in oacs if o["Name"].startswith(stack)]
    assert not (tmp_path / stack / "outputs.json").exists()

    twice = type(recorder)()
    bootstrap.down(target, stack=stack, reporter=twice, state_root=tmp_path)
    assert set(twice.actions().values()) == {"absent"}


def test_outputs_cover_the_dev_server_contract(shared_stack, moto_endpoint):
    outputs, stack, state = shared_stack["outputs"], shared_stack["stack"], shared_stack["state_root"]
    assert set(outputs) >= REQUIRED_OUTPUTS
    pool = outputs["userPoolId"]
    assert outputs["issuer"] == f"https://cognito-idp.us-east-1.amazonaws.com/{pool}"
    assert outputs["jwksUrl"] == f"{moto_endpoint}/{pool}/.well-known/jwks.json"
    assert outputs["tableName"] == f"{stack}-Expenses"
    assert outputs["dataBucket"] == f"{stack}-expense-tracker-data-123456789012-us-east-1"
    env = outputs["functionEnvironment"]
    assert set(env) == {
        "add_expense",
        "get_expenses",
        "update_expense",
        "delete_expense",
        "expense_reports",
        "compact_lake",
    }
    # The trigger the dev server runs: the queue bootstrap made, the contract's batch settings.
    trigger = outputs["triggers"]["compact_lake"]
    assert trigger["queueUrl"] == outputs["lakeEventsQueueUrl"] and trigger["queueUrl"].endswith(
        f"/{stack}-lake-events"
    )
    assert (
        trigger["queueArn"]
        == outputs["lakeEventsQueueArn"]
        == f"arn:aws:sqs:us-east-1:123456789012:{stack}-lake-events"
    )
    assert (trigger["batchSize"], trigger["batchWindowSeconds"]) == (1000, 10)
    assert trigger["enabledOnTarget"] is False  # locally the dev server polls (moto would run it in Docker)
    secrets = {e["PAGE_TOKEN_SECRET"] for e in env.values()}
    assert len(secrets) == 1 and len(secrets.pop()) >= 32
    assert all(
        e["EXPENSES_TABLE"] == outputs["tableName"] and e["DATA_BUCKET"] == outputs["dataBucket"] for e in env.values()
    )
    # Every function gets the contract's one CORS policy (what the gateway's error responses carry too).
    cors = cors_env(load_contract().cors)
    assert all({k: e[k] for k in cors} == cors for e in env.values())
    assert cors["CORS_EXPOSE_HEADERS"] == "Retry-After"
    assert json.loads((state / stack / "outputs.json").read_text()) == outputs
    config = json.loads((state / stack / "config.json").read_text())
    assert set(config) == {"region", "userPoolId", "clientId", "cognitoEndpoint", "apiUrl"}
    assert config["userPoolId"] == pool


def test_deployed_settings_follow_the_definition(shared_stack, clients):
    outputs = shared_stack["outputs"]
    idp = clients("cognito-idp")
    policy = idp.describe_user_pool(UserPoolId=outputs["userPoolId"])["UserPool"]["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] == 6
    assert all(policy[k] for k in ("RequireUppercase", "RequireLowercase", "RequireNumbers", "RequireSymbols"))
    client = idp.describe_user_pool_client(UserPoolId=outputs["userPoolId"], ClientId=outputs["clientId"])
    assert client["UserPoolClient"]["PreventUserExistenceErrors"] == "ENABLED"
    assert "ClientSecret" not in client["UserPoolClient"]
    table = clients("dynamodb").describe_table(TableName=outputs["tableName"])["Table"]
    assert {i["IndexName"] for i in table["LocalSecondaryIndexes"]} == {"byDate", "byCategory"}
    ttl = clients("dynamodb").describe_time_to_live(TableName=outputs["tableName"])["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expiresAt"
    s3 = clients("s3")
    assert s3.get_bucket_versioning(Bucket=outputs["dataBucket"])["Status"] == "Enabled"
    pab = s3.get_public_access_block(Bucket=outputs["frontendBucket"])["PublicAccessBlockConfiguration"]
    assert all(pab.values())
    fn = clients("lambda").get_function(FunctionName=f"{shared_stack['stack']}-ExpenseReportsFunction")
    assert (fn["Configuration"]["Timeout"], fn["Configuration"]["MemorySize"]) == (29, 512)
    assert fn["Configuration"]["Runtime"] == "python3.12"
    assert fn["Configuration"]["Handler"] == "app.lambda_handler"


def test_frontend_bucket_holds_config_and_pages(shared_stack, clients):
    outputs = shared_stack["outputs"]
    s3 = clients("s3")
    bucket = outputs["frontendBucket"]
    config = json.loads(s3.get_object(Bucket=bucket, Key="config.json")["Body"].read())
    assert config["clientId"] == outputs["clientId"]
    page = s3.head_object(Bucket=bucket, Key="login.html")
    assert page["ContentType"].startswith("text/html")
    assert page["CacheControl"] == "no-cache"
    script = s3.head_object(Bucket=bucket, Key="js/api.js")
    assert script["ContentType"].startswith("text/javascript")


def test_plan_of_a_new_stack_creates_nothing(target, stack, tmp_path, recorder, clients):
    changes = bootstrap.plan(target, stack=stack, reporter=recorder, state_root=tmp_path)
    assert {c.action for c in changes} == {"would create"}
    names = [p["Name"] for p in clients("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]]
    assert f"{stack}-ExpenseTrackerUserPool" not in names
    assert not (tmp_path / stack / "outputs.json").exists()


def test_plan_after_up_has_nothing_to_do(shared_stack, recorder):
    s = shared_stack
    changes = bootstrap.plan(s["target"], stack=s["stack"], reporter=recorder, state_root=s["state_root"])
    assert {c.action for c in changes} == {"unchanged"}
    assert recorder.lines[-1].endswith("nothing to do")


def test_code_is_uploaded_again_only_when_its_zip_changed(shared_stack, recorder, clients):
    s = shared_stack
    name = f"{s['stack']}-AddExpenseFunction"
    stale = io.BytesIO()
    with zipfile.ZipFile(stale, "w") as z:
        z.writestr("app.py", "def lambda_handler(event, context):\n    return {}\n")
    clients("lambda").update_function_code(FunctionName=name, ZipFile=stale.getvalue())

    bootstrap.up(s["target"], stack=s["stack"], reporter=recorder, state_root=s["state_root"])
    changed = {label: action for label, action in recorder.actions().items() if action != "unchanged"}
    assert changed == {f"lambda function {name}": "updated"}
    assert any("(code)" in line for line in recorder.lines)


def test_drift_is_reported_by_status_and_repaired_by_up(shared_stack, recorder, clients):
    s = shared_stack
    bucket = s["outputs"]["dataBucket"]
    clients("s3").delete_bucket_policy(Bucket=bucket)
    bootstrap.status(s["target"], stack=s["stack"], reporter=recorder, state_root=s["state_root"])
    assert recorder.actions()[f"s3 bucket policy {bucket}"] == "missing"
    assert any(line.startswith("  lake check") for line in recorder.lines)

    fixed = type(recorder)()
    bootstrap.up(s["target"], stack=s["stack"], reporter=fixed, state_root=s["state_root"])
    assert fixed.actions()[f"s3 bucket policy {bucket}"] == "created"
    assert json.loads(clients("s3").get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]


def test_another_stack_coexists(shared_stack, target, stack, tmp_path):
    try:
        other = bootstrap.up(target, stack=stack, reporter=lambda _: None, state_root=tmp_path)
        mine = shared_stack["outputs"]
        assert other["userPoolId"] != mine["userPoolId"] and other["apiId"] != mine["apiId"]
        assert other["tableName"] != mine["tableName"]
    finally:
        bootstrap.down(target, stack=stack, reporter=lambda _: None, state_root=tmp_path)


def test_page_token_secret_survives_a_rerun_without_state(shared_stack, tmp_path):
    s = shared_stack
    again = bootstrap.up(s["target"], stack=s["stack"], reporter=lambda _: None, state_root=tmp_path)
    assert again["functionEnvironment"] == s["outputs"]["functionEnvironment"]
