"""Cognito user pool and app client with the guide's settings (email verified by code, its password policy)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from bootstrap.resources.base import Context, ProvisionError, Resource, field_diffs, stack_tags
from bootstrap.spec import APP_CLIENT_NAME, PASSWORD_POLICY, StackSpec
from kit.aws_errors import error_code

TOKEN_VALIDITY = {
    "AccessTokenValidity": 60,
    "IdTokenValidity": 60,
    "RefreshTokenValidity": 30,
    "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "days"},
}


def _mutable_pool_settings() -> dict[str, Any]:
    """Settings update_user_pool resets when omitted, so they are always sent together."""
    return {
        "Policies": {"PasswordPolicy": {**PASSWORD_POLICY, "TemporaryPasswordValidityDays": 7}},
        "AutoVerifiedAttributes": ["email"],
        "VerificationMessageTemplate": {"DefaultEmailOption": "CONFIRM_WITH_CODE"},
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": False},
        "AccountRecoverySetting": {"RecoveryMechanisms": [{"Priority": 1, "Name": "verified_email"}]},
    }


def user_pool_settings(spec: StackSpec) -> dict[str, Any]:
    """create_user_pool's arguments besides the pool name (also the CloudFormation template's properties)."""
    return {
        "UsernameConfiguration": {"CaseSensitive": False},
        "Schema": [{"Name": "email", "AttributeDataType": "String", "Required": True, "Mutable": True}],
        "UserAttributeUpdateSettings": {"AttributesRequireVerificationBeforeUpdate": ["email"]},
        "UserPoolTags": stack_tags(spec.stack),
        **_mutable_pool_settings(),
    }


def app_client_settings(on_aws: bool) -> dict[str, Any]:
    """The app client's settings; the password flow exists only off AWS (tests and scripts sign in without SRP)."""
    flows = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    if not on_aws:
        # Local only: lets tests and scripts sign in without SRP; never enabled on AWS.
        flows.append("ALLOW_USER_PASSWORD_AUTH")
    return {
        "ExplicitAuthFlows": sorted(flows),
        "PreventUserExistenceErrors": "ENABLED",
        "ReadAttributes": ["email", "email_verified"],
        "WriteAttributes": ["email"],
        "EnableTokenRevocation": True,
        **TOKEN_VALIDITY,
    }


class UserPool(Resource):
    """Username sign-in, required e-mail verified by code, case-insensitive usernames."""

    kind = "cognito user pool"

    def __init__(self, name: str) -> None:
        super().__init__(name)

    def _find_id(self, ctx: Context) -> str | None:
        client = ctx.client("cognito-idp")
        found: list[str] = []
        for page in client.get_paginator("list_user_pools").paginate(MaxResults=60):
            found += [p["Id"] for p in page.get("UserPools", []) if p.get("Name") == self.name]
        if len(found) > 1:
            raise ProvisionError(f"{self.label}: {len(found)} pools carry this name ({', '.join(found)})")
        return found[0] if found else None

    def read(self, ctx: Context) -> dict[str, Any] | None:
        pool_id = self._find_id(ctx)
        if pool_id is None:
            return None
        pool: dict[str, Any] = ctx.client("cognito-idp").describe_user_pool(UserPoolId=pool_id)["UserPool"]
        return pool

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        wanted = _mutable_pool_settings()
        actual = dict(current)
        # AWS echoes the password policy with fields this definition does not set.
        if "Policies" in actual:
            seen = actual["Policies"].get("PasswordPolicy", {})
            actual["Policies"] = {"PasswordPolicy": {k: seen.get(k) for k in wanted["Policies"]["PasswordPolicy"]}}
        if "VerificationMessageTemplate" in actual:
            actual["VerificationMessageTemplate"] = {
                "DefaultEmailOption": actual["VerificationMessageTemplate"].get("DefaultEmailOption")
            }
        if "AdminCreateUserConfig" in actual:
            actual["AdminCreateUserConfig"] = {
                "AllowAdminCreateUserOnly": actual["AdminCreateUserConfig"].get("AllowAdminCreateUserOnly")
            }
        changes = field_diffs(wanted, actual)
        immutable = field_diffs({"UsernameConfiguration": {"CaseSensitive": False}}, current)
        email = [a for a in current.get("SchemaAttributes", []) if a.get("Name") == "email"]
        if email and not email[0].get("Required"):
            immutable.append("email required")
        if immutable:
            raise ProvisionError(
                f"{self.label}: {', '.join(immutable)} cannot change on an existing pool; run down then up"
            )
        return changes

    def create(self, ctx: Context) -> dict[str, Any]:
        client = ctx.client("cognito-idp")
        pool_id = client.create_user_pool(PoolName=self.name, **user_pool_settings(ctx.spec))["UserPool"]["Id"]
        pool: dict[str, Any] = client.describe_user_pool(UserPoolId=pool_id)["UserPool"]
        return pool

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        client = ctx.client("cognito-idp")
        client.update_user_pool(
            UserPoolId=current["Id"],
            UserAttributeUpdateSettings={"AttributesRequireVerificationBeforeUpdate": ["email"]},
            **_mutable_pool_settings(),
        )
        pool: dict[str, Any] = client.describe_user_pool(UserPoolId=current["Id"])["UserPool"]
        return pool

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        client = ctx.client("cognito-idp")
        if current.get("DeletionProtection") == "ACTIVE":
            client.update_user_pool(UserPoolId=current["Id"], DeletionProtection="INACTIVE")
        client.delete_user_pool(UserPoolId=current["Id"])

    def export(self, ctx: Context, current: dict[str, Any] | None) -> None:
        if current is None:
            return
        spec = ctx.spec
        pool_id = current["Id"]
        ctx.outputs["userPoolId"] = pool_id
        ctx.outputs["userPoolArn"] = current.get("Arn") or (
            f"arn:{spec.partition}:cognito-idp:{spec.region}:{spec.account_id}:userpool/{pool_id}"
        )
        # For parity: tokens carry the AWS issuer whatever the endpoint; the JWKS is served by the endpoint.
        ctx.outputs["issuer"] = f"https://cognito-idp.{spec.region}.amazonaws.com/{pool_id}"
        base = (
            f"https://cognito-idp.{spec.region}.amazonaws.com"
            if ctx.target.is_aws
            else ctx.target.endpoint_for("cognito-idp")
        )
        ctx.outputs["jwksUrl"] = f"{base}/{pool_id}/.well-known/jwks.json"


class AppClient(Resource):
    """`ExpenseTrackerApp`: public client (no secret), SRP + refresh, no user-existence leaks."""

    kind = "cognito app client"

    def __init__(self) -> None:
        super().__init__(APP_CLIENT_NAME)

    def _settings(self, ctx: Context) -> dict[str, Any]:
        return app_client_settings(ctx.target.is_aws)

    def read(self, ctx: Context) -> dict[str, Any] | None:
        pool_id = ctx.outputs.get("userPoolId")
        if pool_id is None:
            return None
        client = ctx.client("cognito-idp")
        for page in client.get_paginator("list_user_pool_clients").paginate(UserPoolId=pool_id, MaxResults=60):
            for item in page.get("UserPoolClients", []):
                if item["ClientName"] == self.name:
                    described: dict[str, Any] = client.describe_user_pool_client(
                        UserPoolId=pool_id, ClientId=item["ClientId"]
                    )["UserPoolClient"]
                    return described
        return None

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        changes = field_diffs(self._settings(ctx), current)
        if current.get("ClientSecret"):
            raise ProvisionError(f"{self.label}: has a client secret; run down then up")
        return changes

    def create(self, ctx: Context) -> dict[str, Any]:
        client: dict[str, Any] = ctx.client("cognito-idp").create_user_pool_client(
            UserPoolId=ctx.outputs["userPoolId"], ClientName=self.name, GenerateSecret=False, **self._settings(ctx)
        )["UserPoolClient"]
        return client

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        client: dict[str, Any] = ctx.client("cognito-idp").update_user_pool_client(
            UserPoolId=current["UserPoolId"],
            ClientId=current["ClientId"],
            ClientName=self.name,
            **self._settings(ctx),
        )["UserPoolClient"]
        return client

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        try:
            ctx.client("cognito-idp").delete_user_pool_client(
                UserPoolId=current["UserPoolId"], ClientId=current["ClientId"]
            )
        except ClientError as e:
            if error_code(e) != "ResourceNotFoundException":
                raise

    def export(self, ctx: Context, current: dict[str, Any] | None) -> None:
        if current is not None:
            ctx.outputs["clientId"] = current["ClientId"]
