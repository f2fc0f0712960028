"""The embedded backend's HTTP side: keep-alive, one-write responses, chunked bodies, HEAD, JWKS, quiet 500s."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from localaws import EmbeddedBackend
from localaws.embedded import _Dispatcher
from localaws.wsgi_server import serve_in_thread

# moto routes a request by the service in the SigV4 credential scope; the signature itself is not checked.
AUTH = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x"


def _headers(target: str) -> dict[str, str]:
    return {
        "Authorization": AUTH,
        "X-Amz-Target": f"DynamoDB_20120810.{target}",
        "Content-Type": "application/x-amz-json-1.0",
    }


@pytest.fixture
def backend(make_backend: Callable[..., EmbeddedBackend]) -> EmbeddedBackend:
    return make_backend(None)


@pytest.fixture
def conn(backend: EmbeddedBackend) -> Iterator[http.client.HTTPConnection]:
    parts = urlsplit(backend.endpoint_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    yield connection
    connection.close()


def _request(conn: http.client.HTTPConnection, method: str, path: str, body: Any = None, **kw: Any) -> Any:
    conn.request(method, path, body=body, **kw)
    response = conn.getresponse()
    return response, response.read()


def test_one_connection_serves_many_requests(conn: http.client.HTTPConnection, backend: EmbeddedBackend) -> None:
    first, body = _request(conn, "POST", "/", b"{}", headers=_headers("ListTables"))
    assert first.status == 200
    assert json.loads(body) == {"TableNames": []}
    assert (first.getheader("Connection") or "").lower() != "close"
    sock = conn.sock
    assert sock is not None
    for _ in range(3):
        again, _ = _request(conn, "POST", "/", b"{}", headers=_headers("ListTables"))
        assert again.status == 200
    assert conn.sock is sock  # never reconnected
    server_side = list(backend._server._connections)  # type: ignore[union-attr]
    assert len(server_side) == 1
    assert server_side[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)  # no delayed-ACK stalls


def test_a_chunked_request_body_is_read_exactly(conn: http.client.HTTPConnection) -> None:
    table = {
        "TableName": "Chunky",
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
    }
    body = json.dumps(table).encode()
    created, _ = _request(
        conn, "POST", "/", iter([body[:10], body[10:]]), headers=_headers("CreateTable"), encode_chunked=True
    )
    assert created.status == 200
    listed, payload = _request(conn, "POST", "/", b"{}", headers=_headers("ListTables"))
    assert listed.status == 200
    assert json.loads(payload) == {"TableNames": ["Chunky"]}


def test_head_keeps_the_length_and_sends_no_body(
    conn: http.client.HTTPConnection, backend: EmbeddedBackend, client_for: Callable[..., Any]
) -> None:
    s3 = client_for("s3", backend)
    s3.create_bucket(Bucket="head-bucket")
    s3.put_object(Bucket="head-bucket", Key="k.bin", Body=b"z" * 1234)
    s3_auth = AUTH.replace("/dynamodb/", "/s3/")
    head, body = _request(conn, "HEAD", "/head-bucket/k.bin", headers={"Authorization": s3_auth})
    assert head.status == 200
    assert head.getheader("Content-Length") == "1234"
    assert body == b""
    got, body = _request(conn, "GET", "/head-bucket/k.bin", headers={"Authorization": s3_auth})
    assert got.status == 200
    assert body == b"z" * 1234


def test_jwks_is_served_unsigned(
    conn: http.client.HTTPConnection, backend: EmbeddedBackend, client_for: Callable[..., Any]
) -> None:
    pool_id = client_for("cognito-idp", backend).create_user_pool(PoolName="p")["UserPool"]["Id"]
    response, body = _request(conn, "GET", f"/{pool_id}/.well-known/jwks.json")
    assert response.status == 200
    assert [key["alg"] for key in json.loads(body)["keys"]] == ["RS256"]


def test_stop_hangs_up_idle_keep_alive_connections(backend: EmbeddedBackend, conn: http.client.HTTPConnection) -> None:
    response, _ = _request(conn, "POST", "/", b"{}", headers=_headers("ListTables"))
    assert response.status == 200
    backend.stop()
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        _request(conn, "POST", "/", b"{}", headers=_headers("ListTables"))


def test_an_application_error_is_a_plain_500() -> None:
    def broken_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        raise RuntimeError("secret internal detail")

    server, thread = serve_in_thread("127.0.0.1", 0, broken_app)
    try:
        host, port = server.socket.getsockname()[:2]
        conn = http.client.HTTPConnection(host, port, timeout=10)
        response, body = _request(conn, "GET", "/anything")
        assert response.status == 500
        assert b"secret internal detail" not in body
        assert b"Traceback" not in body
        assert json.loads(body)["__type"] == "InternalFailure"
        again, _ = _request(conn, "GET", "/anything")  # the connection survives the error
        assert again.status == 500
        conn.close()
    finally:
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize("host", ["s3", "dynamodb", "cognito-idp", "127.0.0.1:5000", "moto_api", "example.com", None])
def test_dispatcher_remembers_hosts_with_moto_own_answers(host: str | None) -> None:
    dispatcher = _Dispatcher()
    expected = DomainDispatcherApplication(create_backend_app).get_backend_for_host(host)
    assert dispatcher.get_backend_for_host(host) == expected
    assert dispatcher.get_backend_for_host(host) == expected  # the remembered answer is the same
    assert host in dispatcher._hosts


def test_moto_loads_its_service_models_through_one_loader(backend: EmbeddedBackend) -> None:
    """A new loader per model lists every botocore service directory again: the backend shares one (with moto's
    own extras still on its search path), and a model moto serves is the one that loader returns."""
    import moto.core.utils as moto_utils
    from moto.core.loaders import Loader, moto_root

    loader = moto_utils.create_loader()
    assert isinstance(loader, Loader) and loader is moto_utils.create_loader()
    assert moto_root in loader.search_paths
    model = moto_utils.get_service_model("dynamodb")
    assert model.service_name == "dynamodb" and "PutItem" in model.operation_names
    assert loader.load_service_model("dynamodb", "service-2") is loader.load_service_model("dynamodb", "service-2")
