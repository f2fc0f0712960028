"""The API's binaryMediaTypes come from the contract's x-amazon-apigateway-binary-media-types, as API Gateway imports
them, unless the gateway is configured with its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devserver.gateway.gateway import BINARY_MEDIA_TYPES

PNG = bytes([0x89, 0x50, 0x4E, 0x47, 0x00, 0xFF, 0xFE, 0x10])


def test_binary_media_types_are_read_from_the_contract(
    make_gateway: Any, contract_path: Path, call: Any, token: str
) -> None:
    # for parity: "x-amazon-apigateway-binary-media-types ... a top-level vendor extension to the OpenAPI document"
    # (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-binary-media-types.html).
    contract_path.write_text(contract_path.read_text() + f"\n{BINARY_MEDIA_TYPES}: [image/png]\n")
    gateway = make_gateway(binary_media_types=[])
    assert tuple(gateway.config.binary_media_types) == ("image/png",)
    response = call(gateway, "GET", "/prod/binary", token, [("Accept", "image/png")])
    assert response.body == PNG


def test_without_the_extension_nothing_is_binary(make_gateway: Any, call: Any, token: str) -> None:
    gateway = make_gateway(binary_media_types=[])
    assert tuple(gateway.config.binary_media_types) == ()
    response = call(gateway, "GET", "/prod/binary", token, [("Accept", "image/png")])
    assert response.body != PNG
    assert response.body.decode().isascii()  # the base64 text, as AWS sends it without a match
