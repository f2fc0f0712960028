"""The deployed CORS form: a literal for `*` or one origin, an echo of a listed Origin for several (issue 14 #8)."""

from __future__ import annotations

from bootstrap.apidoc import gateway_responses, options_mock
from kit.cors import CorsSpec


def _cors(*origins: str) -> CorsSpec:
    return CorsSpec(
        allow_origins=origins,
        allow_methods=("GET", "OPTIONS"),
        allow_headers=("Content-Type", "Authorization"),
        expose_headers=(),
        max_age=600,
    )


def test_one_origin_is_a_literal_everywhere() -> None:
    mock = options_mock(_cors("https://app.example"))
    assert mock["integration_response_parameters"]["method.response.header.Access-Control-Allow-Origin"] == (
        "'https://app.example'"
    )
    assert mock["response_templates"] == {}
    params = gateway_responses(_cors("https://app.example"))["DEFAULT_4XX"]["responseParameters"]
    assert params["gatewayresponse.header.Access-Control-Allow-Origin"] == "'https://app.example'"


def test_several_origins_are_never_a_comma_joined_literal() -> None:
    # for parity: browsers refuse "a,b" as Access-Control-Allow-Origin; the deployed form must echo one origin.
    cors = _cors("https://a.example", "https://b.example")
    mock = options_mock(cors)
    assert "method.response.header.Access-Control-Allow-Origin" not in mock["integration_response_parameters"]
    assert "method.response.header.Access-Control-Allow-Origin" in mock["method_response_parameters"]
    template = mock["response_templates"]["application/json"]
    assert '["https://a.example","https://b.example"].contains($origin)' in template
    assert "$context.responseOverride.header.Access-Control-Allow-Origin = $origin" in template
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        params = gateway_responses(cors)[kind]["responseParameters"]
        assert params["gatewayresponse.header.Access-Control-Allow-Origin"] == "method.request.header.Origin"
        assert params["gatewayresponse.header.Vary"] == "'Origin'"
        lists = ("Allow-Headers", "Allow-Methods", "Expose-Headers")  # lists by definition; Allow-Origin never
        assert all("," not in value or name.endswith(lists) for name, value in params.items())
