"""The REST API imported from the contract, its Cognito authorizer, gateway responses and the `prod` stage."""

from __future__ import annotations

import json
import re
from typing import Any

from botocore.exceptions import ClientError

from bootstrap.apidoc import (
    GATEWAY_RESPONSE_TYPES,
    authorizer_settings,
    build_import_document,
    fingerprint,
    gateway_responses,
    options_mock,
)
from bootstrap.resources.base import Context, Resource
from bootstrap.spec import API_STAGE, THROTTLE_BURST_LIMIT, THROTTLE_RATE_LIMIT, StackSpec
from kit.aws_errors import error_code

_MARK = re.compile(r"\[spec ([0-9a-f]{16})\]")
# Warnings (e.g. an unsupported OpenAPI keyword) are reported as notes, not a failed import.
FAIL_ON_WARNINGS = False


def stage_settings(spec: StackSpec) -> dict[str, Any]:
    """The `prod` stage's description, tags and stage-wide (`*/*`) throttling."""
    return {
        "description": "The guide's stage",
        "tags": {"stack": spec.stack},
        "throttlingRateLimit": THROTTLE_RATE_LIMIT,
        "throttlingBurstLimit": THROTTLE_BURST_LIMIT,
    }


def _document(ctx: Context) -> tuple[dict[str, Any], str]:
    doc = build_import_document(ctx.spec, ctx.output("userPoolArn"))
    mark = fingerprint(doc)
    doc["info"]["description"] += f" [spec {mark}]"
    return doc, mark


def _marker(description: str | None) -> str | None:
    found = _MARK.search(description or "")
    return found.group(1) if found else None


def find_rest_api(ctx: Context, name: str) -> dict[str, Any] | None:
    apigw = ctx.client("apigateway")
    found = [
        api
        for page in apigw.get_paginator("get_rest_apis").paginate(PaginationConfig={"PageSize": 500})
        for api in page.get("items", [])
        if api.get("name") == name
    ]
    if not found:
        return None
    first = found[0]
    # Left behind by an interrupted import; down removes them with the first.
    first["_duplicates"] = [api["id"] for api in found[1:]]
    return first


class RestApi(Resource):
    """Imported from api/openapi.yaml; every contract method authorised by the Cognito authorizer.

    For parity: AWS creates the authorizer from the document's security scheme; moto's importer does not,
    so the same reconcile step reads what exists and adds what is missing on any endpoint.
    """

    kind = "api gateway rest api"

    def read(self, ctx: Context) -> dict[str, Any] | None:
        api = find_rest_api(ctx, self.name)
        if api is None:
            return None
        apigw = ctx.client("apigateway")
        api["_authorizers"] = apigw.get_authorizers(restApiId=api["id"], limit=500).get("items", [])
        api["_resources"] = [
            item
            for page in apigw.get_paginator("get_resources").paginate(restApiId=api["id"], embed=["methods"])
            for item in page.get("items", [])
        ]
        return api

    def _auth_changes(self, ctx: Context, api: dict[str, Any]) -> list[str]:
        wanted = authorizer_settings(ctx.spec, ctx.output("userPoolArn"))
        found = [a for a in api["_authorizers"] if a.get("name") == wanted["name"]]
        if not found:
            return ["authorizer"]
        changes = []
        auth = found[0]
        if auth.get("providerARNs") != wanted["providerARNs"] or auth.get("type") != wanted["type"]:
            changes.append("authorizer")
        if self._unauthorised_methods(ctx, api, auth["id"]):
            changes.append("method authorization")
        return changes

    def _paths_without_preflight(self, ctx: Context, api: dict[str, Any]) -> list[dict[str, Any]]:
        contract_paths = set(ctx.spec.contract.document["paths"])
        return [
            resource
            for resource in api["_resources"]
            if resource.get("path") in contract_paths and "OPTIONS" not in (resource.get("resourceMethods") or {})
        ]

    def _unauthorised_methods(self, ctx: Context, api: dict[str, Any], authorizer_id: str) -> list[tuple[str, str]]:
        wrong = []
        for resource in api["_resources"]:
            for method, detail in (resource.get("resourceMethods") or {}).items():
                if method == "OPTIONS":
                    continue
                if detail.get("authorizationType") != "COGNITO_USER_POOLS" or detail.get("authorizerId") != (
                    authorizer_id
                ):
                    wrong.append((resource["id"], method))
        return wrong

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        _, mark = _document(ctx)
        changes = [] if _marker(current.get("description")) == mark else ["definition"]
        changes += self._auth_changes(ctx, current)
        if self._paths_without_preflight(ctx, current):
            changes.append("cors preflight")
        return changes

    def create(self, ctx: Context) -> dict[str, Any]:
        doc, _ = _document(ctx)
        apigw = ctx.client("apigateway")
        created = apigw.import_rest_api(body=json.dumps(doc).encode("utf-8"), failOnWarnings=FAIL_ON_WARNINGS)
        self._warn(ctx, created)
        return self._reconcile_auth(ctx, created["id"])

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        if "definition" in changes:
            doc, _ = _document(ctx)
            result = ctx.client("apigateway").put_rest_api(
                restApiId=current["id"],
                mode="overwrite",
                failOnWarnings=FAIL_ON_WARNINGS,
                body=json.dumps(doc).encode("utf-8"),
            )
            self._warn(ctx, result)
            if _marker(result.get("description")) != _marker(doc["info"]["description"]):
                # For parity: the description carries the definition's fingerprint; moto's overwrite
                # keeps the old one, so it is set explicitly.
                ctx.client("apigateway").update_rest_api(
                    restApiId=current["id"],
                    patchOperations=[{"op": "replace", "path": "/description", "value": doc["info"]["description"]}],
                )
        return self._reconcile_auth(ctx, current["id"])

    def _warn(self, ctx: Context, result: dict[str, Any]) -> None:
        for warning in result.get("warnings", []):
            ctx.notes.append(f"api gateway import warning: {warning}")

    def _reconcile_auth(self, ctx: Context, api_id: str) -> dict[str, Any]:
        apigw = ctx.client("apigateway")
        wanted = authorizer_settings(ctx.spec, ctx.output("userPoolArn"))
        api = self.read(ctx)
        assert api is not None and api["id"] == api_id
        found = [a for a in api["_authorizers"] if a.get("name") == wanted["name"]]
        if not found:
            authorizer_id = apigw.create_authorizer(restApiId=api_id, **wanted)["id"]
        else:
            authorizer_id = found[0]["id"]
            if found[0].get("providerARNs") != wanted["providerARNs"]:
                apigw.update_authorizer(
                    restApiId=api_id,
                    authorizerId=authorizer_id,
                    patchOperations=[
                        {"op": "replace", "path": "/providerARNs", "value": ",".join(wanted["providerARNs"])}
                    ],
                )
        for resource_id, method in self._unauthorised_methods(ctx, api, authorizer_id):
            _authorise_method(apigw, api_id, resource_id, method, authorizer_id)
        mock = options_mock(ctx.spec.contract.cors)
        for resource in self._paths_without_preflight(ctx, api):
            where = {"restApiId": api_id, "resourceId": resource["id"], "httpMethod": "OPTIONS"}
            apigw.put_method(**where, authorizationType="NONE")
            apigw.put_method_response(**where, statusCode="200", responseParameters=mock["method_response_parameters"])
            apigw.put_integration(
                **where, type="MOCK", requestTemplates=mock["request_templates"], passthroughBehavior="WHEN_NO_MATCH"
            )
            apigw.put_integration_response(
                **where,
                statusCode="200",
                responseParameters=mock["integration_response_parameters"],
                responseTemplates=mock["response_templates"],
            )
        refreshed = self.read(ctx)
        assert refreshed is not None
        return refreshed

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        for api_id in [current["id"], *current.get("_duplicates", [])]:
            ctx.client("apigateway").delete_rest_api(restApiId=api_id)

    def export(self, ctx: Context, current: dict[str, Any] | None) -> None:
        if current is None:
            return
        api_id = current["id"]
        ctx.outputs["apiId"] = api_id
        spec = ctx.spec
        if ctx.target.is_aws:
            ctx.outputs["apiUrl"] = f"https://{api_id}.execute-api.{spec.region}.amazonaws.com/{API_STAGE}"
        else:
            # For parity: the path-style invoke URL that moto and LocalStack route to a stage.
            ctx.outputs["apiUrl"] = f"{ctx.target.endpoint_url}/restapis/{api_id}/{API_STAGE}/_user_request_"


class GatewayResponses(Resource):
    """DEFAULT_4XX and DEFAULT_5XX carrying the CORS headers (also in the imported document)."""

    kind = "api gateway responses"
    parent = "api gateway rest api"

    def read(self, ctx: Context) -> dict[str, Any] | None:
        api_id = ctx.outputs.get("apiId")
        if api_id is None:
            return None
        apigw = ctx.client("apigateway")
        found: dict[str, Any] = {}
        for kind in GATEWAY_RESPONSE_TYPES:
            try:
                found[kind] = apigw.get_gateway_response(restApiId=api_id, responseType=kind)
            except ClientError as e:
                if error_code(e) != "NotFoundException":
                    raise
        return found

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        wanted = gateway_responses(ctx.spec.contract.cors)
        return [
            kind
            for kind, settings in wanted.items()
            if (current.get(kind) or {}).get("responseParameters") != settings["responseParameters"]
        ]

    def create(self, ctx: Context) -> dict[str, Any]:
        return self.update(ctx, {}, list(GATEWAY_RESPONSE_TYPES))

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        apigw = ctx.client("apigateway")
        wanted = gateway_responses(ctx.spec.contract.cors)
        for kind in changes:
            apigw.put_gateway_response(restApiId=ctx.outputs["apiId"], responseType=kind, **wanted[kind])
        return wanted

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        return None  # removed with the REST API


class Stage(Resource):
    """The `prod` stage on a deployment of the current definition, with stage-wide throttling."""

    kind = "api gateway stage"
    parent = "api gateway rest api"

    def _mark(self, ctx: Context) -> str:
        _, mark = _document(ctx)
        return f"{mark}-{fingerprint(gateway_responses(ctx.spec.contract.cors))}"

    def read(self, ctx: Context) -> dict[str, Any] | None:
        api_id = ctx.outputs.get("apiId")
        if api_id is None:
            return None
        apigw = ctx.client("apigateway")
        try:
            stage: dict[str, Any] = apigw.get_stage(restApiId=api_id, stageName=self.name)
        except ClientError as e:
            if error_code(e) == "NotFoundException":
                return None
            raise
        deployment = apigw.get_deployment(restApiId=api_id, deploymentId=stage["deploymentId"])
        stage["_deployed"] = _deployed_marker(deployment.get("description"))
        return stage

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        changes = [] if current["_deployed"] == self._mark(ctx) else ["deployment"]
        settings = (current.get("methodSettings") or {}).get("*/*", {})
        wanted = stage_settings(ctx.spec)
        if (
            settings.get("throttlingRateLimit") != wanted["throttlingRateLimit"]
            or settings.get("throttlingBurstLimit") != wanted["throttlingBurstLimit"]
        ):
            changes.append("throttling")
        return changes

    def create(self, ctx: Context) -> dict[str, Any]:
        return self.update(ctx, {}, ["deployment", "throttling"])

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        apigw = ctx.client("apigateway")
        api_id = ctx.outputs["apiId"]
        if "deployment" in changes:
            deployment = apigw.create_deployment(
                restApiId=api_id, description=f"bootstrap deploy [deployed {self._mark(ctx)}]"
            )
            if current:
                apigw.update_stage(
                    restApiId=api_id,
                    stageName=self.name,
                    patchOperations=[{"op": "replace", "path": "/deploymentId", "value": deployment["id"]}],
                )
            else:
                settings = stage_settings(ctx.spec)
                apigw.create_stage(
                    restApiId=api_id,
                    stageName=self.name,
                    deploymentId=deployment["id"],
                    description=settings["description"],
                    tags=settings["tags"],
                )
        if "throttling" in changes:
            settings = stage_settings(ctx.spec)
            rate, burst = str(settings["throttlingRateLimit"]), str(settings["throttlingBurstLimit"])
            apigw.update_stage(
                restApiId=api_id,
                stageName=self.name,
                patchOperations=[
                    {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": rate},
                    {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": burst},
                ],
            )
        stage = self.read(ctx)
        assert stage is not None
        return stage

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        return None  # removed with the REST API


def _authorise_method(apigw: Any, api_id: str, resource_id: str, method: str, authorizer_id: str) -> None:
    """Puts a method back with the Cognito authorizer, keeping its integration and responses.

    For parity: AWS's importer attaches the authorizer itself and this never runs there; moto's importer
    ignores `security` and has no UpdateMethod, so the method is deleted and put again (valid on both).
    """
    where = {"restApiId": api_id, "resourceId": resource_id, "httpMethod": method}
    detail = apigw.get_method(**where)
    integration = detail.get("methodIntegration") or {}
    apigw.delete_method(**where)
    apigw.put_method(
        **where,
        authorizationType="COGNITO_USER_POOLS",
        authorizerId=authorizer_id,
        requestParameters=detail.get("requestParameters") or {},
    )
    for code, response in (detail.get("methodResponses") or {}).items():
        apigw.put_method_response(**where, statusCode=code, responseParameters=response.get("responseParameters") or {})
    if integration:
        optional = {
            "uri": integration.get("uri"),
            "integrationHttpMethod": integration.get("httpMethod"),
            "passthroughBehavior": integration.get("passthroughBehavior"),
            "timeoutInMillis": integration.get("timeoutInMillis"),
        }
        apigw.put_integration(
            **where, type=str(integration["type"]).upper(), **{k: v for k, v in optional.items() if v is not None}
        )


_DEPLOYED = re.compile(r"\[deployed ([0-9a-f]{16}-[0-9a-f]{16})\]")


def _deployed_marker(description: str | None) -> str | None:
    found = _DEPLOYED.search(description or "")
    return found.group(1) if found else None
