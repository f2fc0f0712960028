"""Turns api/openapi.yaml into the document API Gateway imports: integrations, authorizer, CORS mocks."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bootstrap.spec import AUTHORIZER_NAME, StackSpec
from kit.cors import CorsPolicy, CorsSpec

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
# Our own extensions; API Gateway knows only x-amazon-apigateway-*.
OWN_EXTENSIONS = ("x-cors", "x-lambda-functions", "x-lambda-function")
USER_POOL_PLACEHOLDER = "${UserPoolArn}"
GATEWAY_RESPONSE_TYPES = ("DEFAULT_4XX", "DEFAULT_5XX")
# For parity: API Gateway caps a REST integration at 29 s.
MAX_INTEGRATION_MS = 29000


def several_origins(cors: CorsSpec) -> bool:
    """True when the contract lists more than one origin (and not `*`): no literal Allow-Origin can serve them."""
    return "*" not in cors.allow_origins and len(cors.allow_origins) > 1


def _quoted(value: str) -> str:
    """For parity: static mapping values in API Gateway are single-quoted literals."""
    return f"'{value}'"


def gateway_responses(cors: CorsSpec) -> dict[str, dict[str, Any]]:
    """DEFAULT_4XX / DEFAULT_5XX with the CORS headers of handler responses, so a browser sees a 401 as a 401.

    The header set is CorsPolicy.response_headers: the one set a route's success and error responses carry.
    """
    params = {
        f"gatewayresponse.header.{name}": _quoted(value)
        for name, value in CorsPolicy(cors).deployed_response_headers().items()
    }
    if several_origins(cors):
        # for parity with what browsers accept: a comma-joined list is no valid Allow-Origin; the request's Origin
        # is mapped in instead (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-gatewayResponse-definition.html).
        params["gatewayresponse.header.Access-Control-Allow-Origin"] = "method.request.header.Origin"
        params["gatewayresponse.header.Vary"] = _quoted("Origin")
    template = {"application/json": '{"message":$context.error.messageString}'}
    return {kind: {"responseParameters": params, "responseTemplates": template} for kind in GATEWAY_RESPONSE_TYPES}


def options_mock(cors: CorsSpec) -> dict[str, Any]:
    """The OPTIONS preflight of every path: a MOCK integration answering 200 with the CORS headers.

    For parity: the same calls as API Gateway's console "Enable CORS" (put_method, put_method_response,
    put_integration, put_integration_response); kept out of the imported document because moto's importer
    cannot build a MOCK integration from it.
    """
    headers = CorsPolicy(cors).deployed_preflight_headers()
    literal = dict(headers)
    response_templates: dict[str, str] = {}
    if several_origins(cors):
        # for parity with what browsers accept: echo the request's Origin only when it is listed, through a
        # mapping template override of the mock's response
        # (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-override-request-response-parameters.html).
        del literal["Access-Control-Allow-Origin"]
        listed = ",".join(f'"{origin}"' for origin in cors.allow_origins)
        literal["Vary"] = "Origin"
        headers["Vary"] = "Origin"
        response_templates["application/json"] = (
            "#set($origin = $input.params().header.get('Origin'))\n"
            '#if("$!origin" == "")#set($origin = $input.params().header.get(\'origin\'))#end\n'
            f"#if([{listed}].contains($origin))\n"
            "#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)\n"
            "#end\n"
        )
    return {
        "method_response_parameters": {f"method.response.header.{name}": False for name in headers},
        "request_templates": {"application/json": '{"statusCode": 200}'},
        "integration_response_parameters": {
            f"method.response.header.{name}": _quoted(value) for name, value in literal.items()
        },
        "response_templates": response_templates,
    }


def options_operation(cors: CorsSpec, path_parameters: list[dict[str, Any]]) -> dict[str, Any]:
    """The same OPTIONS mock as an OpenAPI operation, for importers that build MOCK integrations (AWS's).

    For parity: API Gateway's OpenAPI extensions document a `mock` integration with `requestTemplates` and
    `responses.default.responseParameters`; `security: []` leaves the preflight unauthenticated, as the console's
    "Enable CORS" does.
    """
    mock = options_mock(cors)
    headers = {
        name.removeprefix("method.response.header."): {"schema": {"type": "string"}}
        for name in mock["method_response_parameters"]
    }
    operation: dict[str, Any] = {
        "summary": "CORS preflight",
        "security": [],
        "responses": {"200": {"description": "CORS preflight", "headers": headers}},
        "x-amazon-apigateway-integration": {
            "type": "mock",
            "requestTemplates": mock["request_templates"],
            "passthroughBehavior": "when_no_match",
            "responses": {
                "default": {"statusCode": "200", "responseParameters": mock["integration_response_parameters"]}
            },
        },
    }
    if path_parameters:
        operation["parameters"] = path_parameters
    return operation


def _substitute(value: Any, placeholder: str, replacement: str) -> Any:
    if isinstance(value, str):
        return value.replace(placeholder, replacement)
    if isinstance(value, list):
        return [_substitute(v, placeholder, replacement) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, placeholder, replacement) for k, v in value.items()}
    return value


def build_import_document(spec: StackSpec, user_pool_arn: str) -> dict[str, Any]:
    """The contract as API Gateway should import it for this stack."""
    doc = spec.contract.raw()
    for key in OWN_EXTENSIONS:
        doc.pop(key, None)
    # API Gateway could take a base path from `servers`; the stage is the only prefix we want.
    doc.pop("servers", None)
    doc["info"]["title"] = spec.api_name
    doc["info"]["description"] = f"Expense tracker API, stack {spec.stack} (from api/openapi.yaml)"
    for path_item in doc["paths"].values():
        # Path-level parameters copied into each operation (same meaning in OpenAPI); moto's importer
        # would take the `parameters` key for an HTTP method.
        shared = path_item.pop("parameters", [])
        for method in HTTP_METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            own = {(p.get("name"), p.get("in")) for p in operation.get("parameters", []) if "name" in p}
            inherited = [p for p in shared if (p.get("name"), p.get("in")) not in own]
            if inherited:
                operation["parameters"] = inherited + operation.get("parameters", [])
            key = operation.pop("x-lambda-function")
            timeout_ms = min(spec.contract.functions[key].timeout_seconds * 1000, MAX_INTEGRATION_MS)
            operation["x-amazon-apigateway-integration"] = {
                "type": "aws_proxy",
                "httpMethod": "POST",
                "uri": spec.invoke_uri(key),
                "passthroughBehavior": "when_no_match",
                "timeoutInMillis": timeout_ms,
            }
    schemes = doc.get("components", {}).get("securitySchemes", {})
    doc["components"]["securitySchemes"] = _substitute(schemes, USER_POOL_PLACEHOLDER, user_pool_arn)
    doc["x-amazon-apigateway-gateway-responses"] = gateway_responses(spec.contract.cors)
    return doc


def authorizer_settings(spec: StackSpec, user_pool_arn: str) -> dict[str, Any]:
    """The Cognito authorizer as the contract's security scheme defines it."""
    scheme = spec.contract.document["components"]["securitySchemes"][AUTHORIZER_NAME]
    auth = scheme["x-amazon-apigateway-authorizer"]
    return {
        "name": AUTHORIZER_NAME,
        "type": "COGNITO_USER_POOLS",
        "providerARNs": [p.replace(USER_POOL_PLACEHOLDER, user_pool_arn) for p in auth["providerARNs"]],
        "identitySource": auth["identitySource"],
    }


def fingerprint(document: dict[str, Any]) -> str:
    """A short stable digest of an import document, stored in the API's and deployment's descriptions."""
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode("utf-8")).hexdigest()[:16]
