"""CloudFront in front of the private frontend bucket: origin access control, HTTPS only, login.html as root."""

from __future__ import annotations

import copy
from typing import Any

from botocore.exceptions import ClientError

from bootstrap.resources.base import PENDING, Context, Resource, canonical
from bootstrap.spec import StackSpec
from kit.aws_errors import error_code
from kit.page_headers import app_headers, aws_connect_src, cloudfront_security_headers

ORIGIN_ID = "frontend-s3"
DEFAULT_ROOT_OBJECT = "login.html"
# AWS managed cache policy "CachingOptimized"; HTML revalidates through its Cache-Control: no-cache.
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


def oac_config(spec: StackSpec, name: str) -> dict[str, Any]:
    """The origin access control: CloudFront signs every request to the bucket (sigv4)."""
    return {
        "Name": name,
        "Description": f"Expense tracker frontend, stack {spec.stack}",
        "SigningProtocol": "sigv4",
        "SigningBehavior": "always",
        "OriginAccessControlOriginType": "s3",
    }


def distribution_config(
    spec: StackSpec, comment: str, oac_id: str, response_headers_policy_id: str | None = None
) -> dict[str, Any]:
    """create_distribution's DistributionConfig (the CloudFront API shape, Quantity/Items lists); the response
    headers policy (the page headers the dev server sends) is attached where it exists (on AWS)."""
    origin = {
        "Id": ORIGIN_ID,
        "DomainName": f"{spec.frontend_bucket}.s3.{spec.region}.amazonaws.com",
        "OriginPath": "",
        "CustomHeaders": {"Quantity": 0},
        "S3OriginConfig": {"OriginAccessIdentity": ""},
        "OriginAccessControlId": oac_id,
    }
    return {
        "CallerReference": f"{spec.stack}-expense-tracker-frontend",
        "Comment": comment,
        "Enabled": True,
        "DefaultRootObject": DEFAULT_ROOT_OBJECT,
        "PriceClass": "PriceClass_100",
        "HttpVersion": "http2",
        "IsIPV6Enabled": True,
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {
            "TargetOriginId": ORIGIN_ID,
            "ViewerProtocolPolicy": "redirect-to-https",
            "AllowedMethods": {
                "Quantity": 2,
                "Items": ["GET", "HEAD"],
                "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]},
            },
            "Compress": True,
            "CachePolicyId": CACHING_OPTIMIZED,
            **({"ResponseHeadersPolicyId": response_headers_policy_id} if response_headers_policy_id else {}),
        },
        "ViewerCertificate": {"CloudFrontDefaultCertificate": True},
    }


class OriginAccessControl(Resource):
    """Signs CloudFront's requests to S3 (sigv4), so the bucket stays private."""

    kind = "cloudfront origin access control"

    def _config(self, ctx: Context) -> dict[str, Any]:
        return oac_config(ctx.spec, self.name)

    def read(self, ctx: Context) -> dict[str, Any] | None:
        cloudfront = ctx.client("cloudfront")
        for page in cloudfront.get_paginator("list_origin_access_controls").paginate():
            for item in page.get("OriginAccessControlList", {}).get("Items", []) or []:
                if item.get("Name") == self.name:
                    found: dict[str, Any] = item
                    return found
        return None

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        wanted = self._config(ctx)
        return [
            k
            for k in ("SigningProtocol", "SigningBehavior", "OriginAccessControlOriginType")
            if current.get(k) != wanted[k]
        ]

    def create(self, ctx: Context) -> dict[str, Any]:
        created = ctx.client("cloudfront").create_origin_access_control(OriginAccessControlConfig=self._config(ctx))
        item: dict[str, Any] = {"Id": created["OriginAccessControl"]["Id"], **self._config(ctx)}
        return item

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        cloudfront = ctx.client("cloudfront")
        etag = cloudfront.get_origin_access_control(Id=current["Id"])["ETag"]
        cloudfront.update_origin_access_control(
            Id=current["Id"], IfMatch=etag, OriginAccessControlConfig=self._config(ctx)
        )
        return {**current, **self._config(ctx)}

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        cloudfront = ctx.client("cloudfront")
        etag = cloudfront.get_origin_access_control(Id=current["Id"])["ETag"]
        cloudfront.delete_origin_access_control(Id=current["Id"], IfMatch=etag)

    def export(self, ctx: Context, current: dict[str, Any] | None) -> None:
        if current is not None:
            ctx.outputs["originAccessControlId"] = current["Id"]


def headers_policy_config(spec: StackSpec, name: str) -> dict[str, Any]:
    """create_response_headers_policy's config: the page headers of kit.page_headers, as the dev server sends them."""
    headers = app_headers(aws_connect_src(spec.region))
    return {
        "Name": name,
        "Comment": f"Expense tracker frontend security headers, stack {spec.stack}",
        "SecurityHeadersConfig": cloudfront_security_headers(headers),
    }


class ResponseHeadersPolicy(Resource):
    """The frontend's security headers (CSP, framing, nosniff, referrer), the same values the dev server sends.

    AWS only: moto has no response headers policy API (the dev server adds the headers itself, kit.page_headers).
    """

    kind = "cloudfront response headers policy"

    def applies(self, ctx: Context) -> bool:
        return ctx.target.is_aws

    def _config(self, ctx: Context) -> dict[str, Any]:
        return headers_policy_config(ctx.spec, self.name)

    def read(self, ctx: Context) -> dict[str, Any] | None:
        listed = ctx.client("cloudfront").list_response_headers_policies(Type="custom")
        for item in listed.get("ResponseHeadersPolicyList", {}).get("Items", []) or []:
            policy = item.get("ResponseHeadersPolicy", {})
            config = policy.get("ResponseHeadersPolicyConfig", {})
            if config.get("Name") == self.name:
                return {"Id": policy["Id"], "Config": config}
        return None

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        wanted = self._config(ctx)["SecurityHeadersConfig"]
        return [] if canonical(current["Config"].get("SecurityHeadersConfig")) == canonical(wanted) else ["headers"]

    def create(self, ctx: Context) -> dict[str, Any]:
        config = self._config(ctx)
        created = ctx.client("cloudfront").create_response_headers_policy(ResponseHeadersPolicyConfig=config)
        return {"Id": created["ResponseHeadersPolicy"]["Id"], "Config": config}

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        cloudfront = ctx.client("cloudfront")
        etag = cloudfront.get_response_headers_policy(Id=current["Id"])["ETag"]
        config = self._config(ctx)
        cloudfront.update_response_headers_policy(Id=current["Id"], IfMatch=etag, ResponseHeadersPolicyConfig=config)
        return {"Id": current["Id"], "Config": config}

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        cloudfront = ctx.client("cloudfront")
        etag = cloudfront.get_response_headers_policy(Id=current["Id"])["ETag"]
        cloudfront.delete_response_headers_policy(Id=current["Id"], IfMatch=etag)

    def export(self, ctx: Context, current: dict[str, Any] | None) -> None:
        if current is not None:
            ctx.outputs["responseHeadersPolicyId"] = current["Id"]


class Distribution(Resource):
    """The site's distribution, found again by its comment."""

    kind = "cloudfront distribution"

    def _config(self, ctx: Context) -> dict[str, Any]:
        policy = ctx.output("responseHeadersPolicyId") if ctx.target.is_aws else PENDING
        return distribution_config(
            ctx.spec, self.name, ctx.output("originAccessControlId"), None if policy == PENDING else policy
        )

    def _origin(self, ctx: Context) -> dict[str, Any]:
        origin: dict[str, Any] = self._config(ctx)["Origins"]["Items"][0]
        return origin

    def read(self, ctx: Context) -> dict[str, Any] | None:
        cloudfront = ctx.client("cloudfront")
        for page in cloudfront.get_paginator("list_distributions").paginate():
            for item in page.get("DistributionList", {}).get("Items", []) or []:
                if item.get("Comment") == self.name:
                    found = cloudfront.get_distribution_config(Id=item["Id"])
                    return {
                        "Id": item["Id"],
                        "DomainName": item.get("DomainName"),
                        "Status": item.get("Status"),
                        "ETag": found["ETag"],
                        "Config": found["DistributionConfig"],
                    }
        return None

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        config = current["Config"]
        changes = []
        if not config.get("Enabled"):
            changes.append("enabled")
        if config.get("DefaultRootObject") != DEFAULT_ROOT_OBJECT:
            changes.append("default root object")
        origins = config.get("Origins", {}).get("Items") or []
        wanted = self._origin(ctx)
        # A field the service does not echo is not compared (moto leaves out OriginAccessControlId).
        if not origins or any(
            k in origins[0] and origins[0][k] != wanted[k] for k in ("DomainName", "OriginAccessControlId")
        ):
            changes.append("origin")
        if config.get("DefaultCacheBehavior", {}).get("ViewerProtocolPolicy") != "redirect-to-https":
            changes.append("viewer protocol policy")
        wanted_policy = self._config(ctx)["DefaultCacheBehavior"].get("ResponseHeadersPolicyId")
        if wanted_policy is not None and config.get("DefaultCacheBehavior", {}).get("ResponseHeadersPolicyId") != (
            wanted_policy
        ):
            changes.append("response headers policy")
        return changes

    def create(self, ctx: Context) -> dict[str, Any]:
        ctx.client("cloudfront").create_distribution(DistributionConfig=self._config(ctx))
        created = self.read(ctx)
        assert created is not None
        return created

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        config = copy.deepcopy(current["Config"])
        wanted = self._config(ctx)
        config["Enabled"] = True
        config["DefaultRootObject"] = DEFAULT_ROOT_OBJECT
        config["Origins"] = wanted["Origins"]
        config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] = "redirect-to-https"
        if "ResponseHeadersPolicyId" in wanted["DefaultCacheBehavior"]:
            config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] = wanted["DefaultCacheBehavior"][
                "ResponseHeadersPolicyId"
            ]
        ctx.client("cloudfront").update_distribution(
            Id=current["Id"], IfMatch=current["ETag"], DistributionConfig=config
        )
        updated = self.read(ctx)
        assert updated is not None
        return updated

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        cloudfront = ctx.client("cloudfront")
        etag = current["ETag"]
        if current["Config"].get("Enabled"):
            # For parity: CloudFront deletes only a disabled distribution, once the change is deployed.
            config = copy.deepcopy(current["Config"])
            config["Enabled"] = False
            etag = cloudfront.update_distribution(Id=current["Id"], IfMatch=etag, DistributionConfig=config)["ETag"]
            if ctx.target.is_aws:
                cloudfront.get_waiter("distribution_deployed").wait(
                    Id=current["Id"], WaiterConfig={"Delay": 30, "MaxAttempts": 60}
                )
        try:
            cloudfront.delete_distribution(Id=current["Id"], IfMatch=etag)
        except ClientError as e:
            if error_code(e) != "NoSuchDistribution":
                raise

    def export(self, ctx: Context, current: dict[str, Any] | None) -> None:
        if current is not None:
            ctx.outputs["distributionId"] = current["Id"]
            ctx.outputs["distributionDomain"] = current.get("DomainName")
            ctx.outputs["siteUrl"] = f"https://{current.get('DomainName')}/"
