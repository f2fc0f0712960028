"""Starts the dev server: backend, provisioning (bootstrap), local Cognito, gateway, app; stops it cleanly."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bootstrap
from bootstrap.spec import THROTTLE_BURST_LIMIT, THROTTLE_RATE_LIMIT
from bootstrap.target import Target
from devserver.app import DevParts, create_app
from devserver.cognito import LocalCognito, Mailbox
from devserver.config import CONTRACT_PATH, FUNCTIONS_ROOT, LOCAL_CREDENTIALS, SPLIT_SERVICES, STAGE, DevOptions
from devserver.gateway import Gateway, GatewayConfig
from devserver.httpserver import make_dev_server
from expense_core import aws

log = logging.getLogger("devserver")


@dataclass
class DevServer:
    """Everything `make dev` runs, in one object with a start and a stop."""

    options: DevOptions
    outputs: dict[str, Any] = field(default_factory=dict)
    endpoint_url: str = ""
    service_endpoints: dict[str, str] = field(default_factory=dict)
    _backend: Any = None
    _gateway: Gateway | None = None
    _http: Any = None
    _thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------------
    def start(self, *, serve_in_thread: bool = False) -> None:
        opts = self.options
        # Bind the port first: a busy port is a one-line error before anything is provisioned.
        self._http = make_dev_server(opts.host, opts.port, None)
        if opts.port == 0:
            self.options = opts = _with_port(opts, self._http.server_port)
        if opts.reset:
            wipe_state(opts)
        # The dev server only ever talks to local endpoints: real credentials are never sent there.
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            os.environ.pop(name, None)
        os.environ.update(LOCAL_CREDENTIALS)
        os.environ.setdefault("AWS_DEFAULT_REGION", opts.region)
        self.endpoint_url = self._start_backend()
        self.outputs = bootstrap.up(
            Target.endpoint(self.endpoint_url, self.service_endpoints),
            stack=opts.stack,
            region=opts.region,
            reporter=lambda line: log.info("bootstrap: %s", line),
            state_root=opts.state_dir,
        )
        mailbox = Mailbox(opts.mailbox_file, announce=lambda line: print(f"[mailbox] {line}", flush=True))
        cognito = LocalCognito(self._client("cognito-idp"), opts.cognito_state, mailbox)
        self._gateway = Gateway(self._gateway_config())
        gateway = self._gateway
        # Answers the HTTP server makes before the app runs (431, 414) carry the gateway errors' CORS headers.
        self._http.error_headers = lambda: gateway.cors.error_headers(None)
        parts = DevParts(
            config_json=self.config_json(),
            gateway=self._gateway,
            cognito=cognito,
            mailbox=mailbox,
            dashboard=self._dashboard(),
            stage=STAGE,
            health=lambda: {
                "backend": self.endpoint_url,
                "serviceEndpoints": self.service_endpoints,
                "stack": opts.stack,
            },
        )
        if opts.demo:
            from devserver.demo import seed_demo

            seed_demo(cognito, self.outputs, self.endpoint_url, opts.region)
        self._http.app = create_app(parts)
        self._write_runtime_file()
        if serve_in_thread:
            self._thread = threading.Thread(target=self._http.serve_forever, name="dev-server", daemon=True)
            self._thread.start()

    def serve_forever(self) -> None:
        self._http.serve_forever()

    def stop(self) -> None:
        if self._http is not None:
            with contextlib.suppress(OSError):
                if self._thread is not None:
                    self._http.shutdown()
                self._http.server_close()
        if self._gateway is not None:
            self._gateway.close()
        if self._backend is not None:
            self._backend.stop()
            self._backend = None
        with contextlib.suppress(OSError):
            self.options.runtime_file.unlink()

    # --- parts -----------------------------------------------------------------------------------------
    def _start_backend(self) -> str:
        """The AWS endpoint: the embedded moto, or the given URL (plus an embedded moto for what it lacks)."""
        from devserver.backend import EmbeddedBackend

        if not self.options.embedded:
            url = self.options.backend.rstrip("/")
            if self.options.split_endpoint:
                split = self.options.split_endpoint.rstrip("/")
                self.service_endpoints = {service: split for service in SPLIT_SERVICES}
                return url
            local = self.options.local_services or (SPLIT_SERVICES if is_localstack(url) else ())
            if local:
                self._backend = EmbeddedBackend(self.options.backend_dir, region=self.options.region)
                self._backend.start()
                self.service_endpoints = {service: str(self._backend.endpoint_url) for service in local}
                log.info("serving %s from an embedded moto at %s", ", ".join(local), self._backend.endpoint_url)
            return url
        self._backend = EmbeddedBackend(self.options.backend_dir, region=self.options.region)
        self._backend.start()
        return str(self._backend.endpoint_url)

    def _client(self, service: str) -> Any:
        return aws.client(service, self.service_endpoints.get(service, self.endpoint_url), self.options.region)

    def _function_env(self) -> dict[str, dict[str, str]]:
        """Each function's configuration from bootstrap, plus what points its SDK at the local backend."""
        local = {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.options.region,
            "AWS_DEFAULT_REGION": self.options.region,
            **LOCAL_CREDENTIALS,
        }
        return {
            name: {**{k: str(v) for k, v in env.items()}, **local}
            for name, env in self.outputs.get("functionEnvironment", {}).items()
        }

    def _gateway_config(self) -> GatewayConfig:
        opts = self.options
        return GatewayConfig(
            contract_path=CONTRACT_PATH,
            functions_root=FUNCTIONS_ROOT,
            function_env=self._function_env(),
            stage=STAGE,
            cors_origins=opts.cors_origins,
            issuer=self.outputs["issuer"],
            audience=self.outputs["clientId"],
            jwks_url=self.outputs["jwksUrl"],
            function_timeouts=opts.function_timeouts,
            hot_reload=opts.hot_reload,
            region=opts.region,
            throttle=(THROTTLE_RATE_LIMIT, THROTTLE_BURST_LIMIT) if opts.throttle else None,
        )

    def _dashboard(self) -> Any:
        from quicksight.web import dashboard_blueprint

        return dashboard_blueprint(
            lambda: self._client("s3"),
            lambda: str(self.outputs["dataBucket"]),
            cache_dir=self.options.state_dir / self.options.stack,  # removed by --reset with the rest
        )

    def config_json(self) -> dict[str, Any]:
        """The frontend's only configuration: same keys as the config.json bootstrap uploads for AWS."""
        base = self.options.base_url
        return {
            "region": self.options.region,
            "userPoolId": self.outputs["userPoolId"],
            "clientId": self.outputs["clientId"],
            "cognitoEndpoint": f"{base}/cognito/",
            "apiUrl": f"{base}/{STAGE}",
        }

    def urls(self) -> dict[str, str]:
        base = self.options.base_url
        return {
            "Frontend": f"{base}/login.html",
            "API": f"{base}/{STAGE}/expenses",
            "Cognito endpoint": f"{base}/cognito/",
            "Mailbox": f"{base}/_dev/mailbox",
            "Dashboard": f"{base}/_dev/dashboard",
            "AWS endpoint": f"{self.endpoint_url} ({'embedded moto' if self.options.embedded else 'external'})",
            **{f"{service} endpoint": f"{url} (embedded moto)" for service, url in self.service_endpoints.items()},
        }

    def _write_runtime_file(self) -> None:
        path = self.options.runtime_file
        path.parent.mkdir(parents=True, exist_ok=True)
        info = {"endpointUrl": self.endpoint_url, "baseUrl": self.options.base_url, "pid": os.getpid()}
        path.write_text(json.dumps({**info, "outputs": self.outputs}, indent=2, default=str))


def is_localstack(url: str) -> bool:
    """LocalStack answers its health endpoint; moto and others do not."""
    try:
        with urllib.request.urlopen(f"{url}/_localstack/health", timeout=2) as answer:  # noqa: S310 - user's endpoint
            return isinstance(json.loads(answer.read()).get("services"), dict)
    except (OSError, ValueError):
        return False


def _with_port(options: DevOptions, port: int) -> DevOptions:
    from dataclasses import replace

    return replace(options, port=port)


def wipe_state(options: DevOptions) -> None:
    """Forget everything local: users, expenses, lake objects, mailbox (what `make dev-reset` does too)."""
    for path in (options.backend_dir, options.cognito_state.parent, options.state_dir / options.stack):
        if path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def read_runtime(state_dir: Path, stack: str) -> dict[str, Any]:
    """What a running dev server wrote about itself (endpoint and outputs)."""
    return dict(json.loads((state_dir / stack / "runtime.json").read_text()))
