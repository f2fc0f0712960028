"""S3 buckets (private, encrypted, versioned), their validated policies, the lake manifest and the site files."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from bootstrap.policies import validate_policy
from bootstrap.resources.base import Context, ProvisionError, Resource, canonical, read_policy, stack_tags, tag_list
from kit.analytics import ANALYTICS_PREFIX
from kit.aws_errors import error_code

PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
SSE_S3 = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
_MISSING = ("404", "NoSuchBucket")
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".map": "application/json",
}
SITE_DIRS = ("js", "css")
SITE_PAGES = ("login.html", "tracker.html")


def _get(call: Callable[[], dict[str, Any]], *missing: str) -> dict[str, Any] | None:
    try:
        return call()
    except ClientError as e:
        if error_code(e) in missing:
            return None
        raise


class Bucket(Resource):
    """A private bucket: public access blocked, SSE-S3 default encryption, optionally versioned."""

    kind = "s3 bucket"

    def __init__(self, name: str, *, versioned: bool, output: str) -> None:
        super().__init__(name)
        self.versioned = versioned
        self.output = output

    def read(self, ctx: Context) -> dict[str, Any] | None:
        s3 = ctx.client("s3")
        try:
            s3.head_bucket(Bucket=self.name)
        except ClientError as e:
            code = error_code(e)
            if code in _MISSING:
                return None
            if code in ("403", "AccessDenied"):
                raise ProvisionError(f"{self.label}: the name is taken by another account") from e
            raise
        pab = _get(lambda: s3.get_public_access_block(Bucket=self.name), "NoSuchPublicAccessBlockConfiguration")
        enc = _get(lambda: s3.get_bucket_encryption(Bucket=self.name), "ServerSideEncryptionConfigurationNotFoundError")
        ver = s3.get_bucket_versioning(Bucket=self.name)
        return {
            "pab": (pab or {}).get("PublicAccessBlockConfiguration"),
            "encryption": (enc or {}).get("ServerSideEncryptionConfiguration"),
            "versioning": ver.get("Status"),
        }

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        changes = []
        if current["pab"] != PUBLIC_ACCESS_BLOCK:
            changes.append("public access block")
        rules = (current["encryption"] or {}).get("Rules", [])
        algorithms = [r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules]
        if "AES256" not in algorithms and "aws:kms" not in algorithms:
            changes.append("default encryption")
        if self.versioned and current["versioning"] != "Enabled":
            changes.append("versioning")
        return changes

    def create(self, ctx: Context) -> dict[str, Any]:
        s3 = ctx.client("s3")
        kwargs: dict[str, Any] = {"Bucket": self.name}
        if ctx.spec.region != "us-east-1":
            # For parity: us-east-1 refuses an explicit LocationConstraint, every other region needs one.
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": ctx.spec.region}
        s3.create_bucket(**kwargs)
        s3.put_bucket_tagging(
            Bucket=self.name,
            Tagging={"TagSet": tag_list(stack_tags(ctx.spec.stack))},
        )
        current = {"pab": None, "encryption": None, "versioning": None}
        return self.update(ctx, current, self.diff(ctx, current))

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        s3 = ctx.client("s3")
        if "public access block" in changes:
            s3.put_public_access_block(Bucket=self.name, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK)
        if "default encryption" in changes:
            s3.put_bucket_encryption(Bucket=self.name, ServerSideEncryptionConfiguration=SSE_S3)
        if "versioning" in changes:
            s3.put_bucket_versioning(Bucket=self.name, VersioningConfiguration={"Status": "Enabled"})
        return {"pab": PUBLIC_ACCESS_BLOCK, "encryption": SSE_S3, "versioning": "Enabled" if self.versioned else None}

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        empty_bucket(ctx.client("s3"), self.name)
        ctx.client("s3").delete_bucket(Bucket=self.name)

    def export(self, ctx: Context, current: dict[str, Any] | None) -> None:
        ctx.outputs[self.output] = self.name


def empty_bucket(s3: Any, bucket: str) -> int:
    """Deletes every object version and delete marker; returns how many were removed."""
    removed = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        keys = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            result = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            if result.get("Errors"):
                first = result["Errors"][0]
                raise ProvisionError(f"s3 bucket {bucket}: cannot delete {first['Key']}: {first['Code']}")
            removed += len(batch)
    return removed


class BucketPolicy(Resource):
    """A bucket policy, validated as JSON and structurally before it is uploaded."""

    kind = "s3 bucket policy"
    parent = "s3 bucket"

    def __init__(self, bucket: str, document: Callable[[Context], dict[str, Any]]) -> None:
        super().__init__(bucket)
        self.document = document

    def _wanted(self, ctx: Context) -> str:
        return validate_policy(self.document(ctx), resource_policy=True, bucket=self.name)

    def read(self, ctx: Context) -> dict[str, Any] | None:
        s3 = ctx.client("s3")
        try:
            text = s3.get_bucket_policy(Bucket=self.name)["Policy"]
        except ClientError as e:
            if error_code(e) in ("NoSuchBucketPolicy", *_MISSING):
                return None
            raise
        return read_policy(text)

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        return [] if canonical(current) == self._wanted(ctx) else ["statements"]

    def create(self, ctx: Context) -> dict[str, Any]:
        text = self._wanted(ctx)
        ctx.client("s3").put_bucket_policy(Bucket=self.name, Policy=text)
        policy: dict[str, Any] = json.loads(text)
        return policy

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        return self.create(ctx)

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        ctx.client("s3").delete_bucket_policy(Bucket=self.name)


class LakeManifest(Resource):
    """The QuickSight manifest at the data bucket root (built by the quicksight package)."""

    kind = "quicksight manifest"

    def __init__(self, bucket: str) -> None:
        super().__init__(f"s3://{bucket}/manifest.json")
        self.bucket = bucket

    def read(self, ctx: Context) -> dict[str, Any] | None:
        from quicksight import manifest  # lazy: built by another package, not needed to plan

        try:
            body = ctx.client("s3").get_object(Bucket=self.bucket, Key=manifest.MANIFEST_KEY)["Body"].read()
        except ClientError as e:
            if error_code(e) in ("NoSuchKey", "404", *_MISSING):
                return None
            raise
        try:
            document: dict[str, Any] = json.loads(body)
        except ValueError:
            return {"invalid": True}
        return document

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        from quicksight import manifest

        return [] if canonical(current) == canonical(manifest.build_manifest(self.bucket)) else ["content"]

    def create(self, ctx: Context) -> dict[str, Any]:
        from quicksight import manifest

        manifest.upload_manifest(ctx.client("s3"), self.bucket)
        document: dict[str, Any] = manifest.build_manifest(self.bucket)
        return document

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        return self.create(ctx)

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        from quicksight import manifest

        ctx.client("s3").delete_object(Bucket=self.bucket, Key=manifest.MANIFEST_KEY)


def content_type(path: str) -> str:
    suffix = Path(path).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def cache_control(path: str) -> str:
    """HTML and config.json must never be stale after a deploy (guide 6.3); assets may be cached briefly."""
    if path.endswith(".html") or path == "config.json":
        return "no-cache"
    return "public, max-age=300"


def site_files(frontend_dir: Path) -> tuple[dict[str, Path], list[str]]:
    """The site's key -> file map (pages, js/, css/, vendor.json entries) and the vendor files not installed."""
    files: dict[str, Path] = {}
    for page in SITE_PAGES:
        if (frontend_dir / page).is_file():
            files[page] = frontend_dir / page
    for folder in SITE_DIRS:
        base = frontend_dir / folder
        if base.is_dir():
            for path in sorted(base.rglob("*")):
                if path.is_file() and not path.name.startswith("."):
                    files[path.relative_to(frontend_dir).as_posix()] = path
    missing: list[str] = []
    vendor_map = frontend_dir / "vendor.json"
    if vendor_map.is_file():
        for key, rel in json.loads(vendor_map.read_text(encoding="utf-8")).items():
            source = frontend_dir / rel
            if source.is_file():
                files[key.lstrip("/")] = source
            else:
                missing.append(rel)
    return files, missing


def frontend_config(outputs: dict[str, Any]) -> dict[str, Any]:
    """The frontend's config.json: the five values it reads, nothing else."""
    return {k: outputs.get(k) for k in ("region", "userPoolId", "clientId", "cognitoEndpoint", "apiUrl")}


class SiteFiles(Resource):
    """The frontend files and config.json in the frontend bucket, plus a CloudFront invalidation on change."""

    kind = "frontend files"
    parent = "s3 bucket"

    def __init__(self, bucket: str) -> None:
        super().__init__(f"s3://{bucket}")
        self.bucket = bucket

    def _wanted(self, ctx: Context) -> dict[str, bytes]:
        files, missing = site_files(ctx.spec.frontend_dir)
        for rel in missing:
            note = f"frontend: {rel} is not installed (run `cd frontend && npm ci`); not uploaded"
            if note not in ctx.notes:
                ctx.notes.append(note)
        wanted = {key: path.read_bytes() for key, path in files.items()}
        config = json.dumps(frontend_config(ctx.outputs), indent=2, sort_keys=True).encode("utf-8") + b"\n"
        wanted["config.json"] = config
        return wanted

    def read(self, ctx: Context) -> dict[str, str] | None:
        s3 = ctx.client("s3")
        etags: dict[str, str] = {}
        try:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
                for obj in page.get("Contents", []):
                    etags[obj["Key"]] = obj["ETag"].strip('"')
        except ClientError as e:
            if error_code(e) in _MISSING:
                return None
            raise
        return etags

    def _plan(self, ctx: Context, current: dict[str, str]) -> tuple[dict[str, bytes], list[str]]:
        # The ETag of a single-part SSE-S3 upload is the MD5 of its content.
        wanted = self._wanted(ctx)
        changed = {
            key: body
            for key, body in wanted.items()
            if current.get(key) != hashlib.md5(body, usedforsecurity=False).hexdigest()
        }
        extra = sorted(set(current) - set(wanted))
        return changed, extra

    def diff(self, ctx: Context, current: dict[str, str]) -> list[str]:
        changed, extra = self._plan(ctx, current)
        return [f"upload {key}" for key in sorted(changed)] + [f"remove {key}" for key in extra]

    def create(self, ctx: Context) -> dict[str, str]:
        return self.update(ctx, {}, [])

    def update(self, ctx: Context, current: dict[str, str], changes: list[str]) -> dict[str, str]:
        s3 = ctx.client("s3")
        changed, extra = self._plan(ctx, current)
        for key, body in sorted(changed.items()):
            s3.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType=content_type(key), CacheControl=cache_control(key)
            )
        for start in range(0, len(extra), 1000):
            s3.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in extra[start : start + 1000]], "Quiet": True}
            )
        distribution_id = ctx.outputs.get("distributionId")
        touched = sorted(set(changed) | set(extra))
        if distribution_id and touched and current:
            paths = [f"/{key}" for key in touched][:15] if len(touched) <= 15 else ["/*"]
            ctx.client("cloudfront").create_invalidation(
                DistributionId=distribution_id,
                InvalidationBatch={
                    "Paths": {"Quantity": len(paths), "Items": paths},
                    "CallerReference": f"bootstrap-{time.time_ns()}",
                },
            )
            ctx.notes.append(f"cloudfront: invalidated {', '.join(paths)}")
        return {k: hashlib.md5(v, usedforsecurity=False).hexdigest() for k, v in self._wanted(ctx).items()}

    def delete(self, ctx: Context, current: dict[str, str]) -> None:
        return None  # for parity: the objects go with the bucket, which down empties of every version


# for parity: a lifecycle rule expires noncurrent versions a number of days after they become noncurrent
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-configuration-examples.html, "Example 6:
# Specifying a lifecycle rule for a versioning-enabled bucket"; NoncurrentDays is at least 1:
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_NoncurrentVersionExpiration.html). The compactor replaces
# its files on every run; the previous versions are only needed while a reader still holds one.
ANALYTICS_RULE_ID = "analytics-noncurrent-versions"
ANALYTICS_ROOT = ANALYTICS_PREFIX.partition("/")[0] + "/"
NONCURRENT_DAYS = 1


def lifecycle_rules() -> list[dict[str, Any]]:
    """The data bucket's lifecycle: old versions of the compacted files go after a day (the lake's stay)."""
    return [
        {
            "ID": ANALYTICS_RULE_ID,
            "Filter": {"Prefix": ANALYTICS_ROOT},
            "Status": "Enabled",
            "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_DAYS},
        }
    ]


class BucketLifecycle(Resource):
    """The data bucket's lifecycle configuration (one rule, on the compacted analytics/ files)."""

    kind = "s3 bucket lifecycle"
    parent = "s3 bucket"

    def read(self, ctx: Context) -> dict[str, Any] | None:
        try:
            rules = ctx.client("s3").get_bucket_lifecycle_configuration(Bucket=self.name).get("Rules", [])
        except ClientError as e:
            if error_code(e) in ("NoSuchLifecycleConfiguration", *_MISSING):
                return None
            raise
        return {"Rules": rules}

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        def shape(rules: list[dict[str, Any]]) -> str:
            return canonical(
                sorted(
                    (
                        {
                            "ID": r.get("ID"),
                            "Prefix": (r.get("Filter") or {}).get("Prefix", r.get("Prefix")),
                            "Status": r.get("Status"),
                            "NoncurrentDays": (r.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays"),
                        }
                        for r in rules
                    ),
                    key=canonical,
                )
            )

        return [] if shape(current["Rules"]) == shape(lifecycle_rules()) else ["rules"]

    def create(self, ctx: Context) -> dict[str, Any]:
        rules = lifecycle_rules()
        ctx.client("s3").put_bucket_lifecycle_configuration(Bucket=self.name, LifecycleConfiguration={"Rules": rules})
        return {"Rules": rules}

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        return self.create(ctx)

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        ctx.client("s3").delete_bucket_lifecycle(Bucket=self.name)
