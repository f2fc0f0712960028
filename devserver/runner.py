"""Starts the dev server: backend, provisioning (bootstrap), local Cognito, gateway, app; stops it cleanly."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import threading
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import bootstrap
from bootstrap.spec import THROTTLE_BURST_LIMIT, THROTTLE_RATE_LIMIT, StackSpec
from bootstrap.target import Target
from devserver.app import DevParts, create_app
from devserver.cognito import LocalCognito, Mailbox, check_state_present
from devserver.config import (
    DYNAMODB_LOCAL,
    FUNCTIONS_ROOT,
    LOCAL_CREDENTIALS,
    SPLIT_SERVICES,
    STAGE,
    DevOptions,
)
from devserver.gateway import CognitoAuthorizer, Gateway, GatewayConfig
from devserver.gateway.gateway import INTEGRATION_TIMEOUT_SECONDS
from devserver.gateway.runtime import runtime_interpreter
from devserver.hosts import HostPolicy
from devserver.httpserver import make_dev_server
from devserver.triggers import QueuePoller, TriggerConfig, Triggers
from expense_core.config import SERVICE_ENDPOINT_ENV
from kit.clients import Endpoints, Role, client
from kit.constants import LOCAL_ACCOUNT_ID, PLACEHOLDER_ACCESS_KEY_ID, PLACEHOLDER_SECRET_ACCESS_KEY
from kit.contract import Contract, load_contract
from kit.cors import to_env as cors_env
from localaws.iam.credentials import CredentialStore, IssuedCredentials
from localaws.iam.gate import IamGate, moto_role_policies

log = logging.getLogger("devserver")


@dataclass
class DevServer:
    """Everything `make dev` runs, in one object with a start and a stop."""

    options: DevOptions
    outputs: dict[str, Any] = field(default_factory=dict)
    endpoint_url: str = ""
    service_endpoints: dict[str, str] = field(default_factory=dict)
    _backend: Any = None
    # A DynamoDB Local that dev_server.py launched before its imports (its JVM starts meanwhile), adopted here.
    dynamodb_local: Any = None
    _gateway: Gateway | None = None
    _http: Any = None
    _credentials: CredentialStore | None = None  # the IAM gate's keys (embedded backend only)
    _issued: dict[str, IssuedCredentials] = field(default_factory=dict)  # function key -> its role's session
    _triggers: Triggers | None = None  # the lake trigger's pollers (Lambda's event source mappings, locally)

    # --- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Bind, start the backend, provision, build the parts; `serve_forever` then serves (dev_server.py)."""
        opts = self.options
        # Which Python runs the handlers is asked of python3.12 on PATH (a subprocess, up to a second through a
        # pyenv shim): asked now, it answers while the backend starts, and the gateway finds the answer cached.
        interpreter = threading.Thread(target=runtime_interpreter, name="runtime-interpreter", daemon=True)
        interpreter.start()
        # Bind the port first: a busy port is a one-line error before anything is provisioned.
        self._http = make_dev_server(opts.host, opts.port, None)
        if opts.port == 0:
            self.options = opts = _with_port(opts, self._http.server_port)
        if opts.reset:
            opts.layout.wipe()
        opts.layout.migrate(announce=lambda line: print(line, flush=True))
        # Users' data, tokens' secrets and the page-token secret live here: owner-only (0700 folders, 0600 files).
        opts.layout.secure()
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
            contract_path=opts.contract_path,
            # The embedded backend is this process's: its write ledger lets bootstrap skip reading the stack again
            # when nothing but data changed since the last start.
            ledger=self._backend.write_ledger if opts.embedded else None,
        )
        mailbox = Mailbox(opts.mailbox_file, announce=lambda line: print(f"[mailbox] {line}", flush=True))
        check_state_present(self._client("cognito-idp"), opts.cognito_state, str(self.outputs["userPoolId"]))
        cognito = LocalCognito(
            self._client("cognito-idp"), opts.cognito_state, mailbox, keys_path=opts.layout.cognito_keys
        )
        config = self._gateway_config()
        interpreter.join()
        # The authorizer trusts only the pool's own key, read from the layer that signs with it (the same
        # document the pool's JWKS URL on the dev server serves), never moto's packaged key.
        authorizer = CognitoAuthorizer(
            issuer=str(config.issuer),
            audience=str(config.audience),
            jwks_url=str(config.jwks_url),
            leeway_seconds=config.token_leeway_seconds,
            fetcher=lambda _url: cognito.jwks(str(self.outputs["userPoolId"])).json(),
        )
        self._gateway = Gateway(config, authorizer=authorizer)
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
            hosts=HostPolicy(opts.host, opts.allowed_hosts),
            health=lambda: {
                "backend": self.endpoint_url,
                "serviceEndpoints": self.service_endpoints,
                "dynamodb": self.dynamodb_engine(),
                "stack": opts.stack,
                "triggers": self._triggers.health() if self._triggers is not None else {},
            },
        )
        if opts.demo:
            from devserver.demo import seed_demo

            seed_demo(cognito, self.outputs, self.endpoint_url, opts.region, self.service_endpoints)
        self._http.app = create_app(parts)
        self._triggers = self._trigger_pollers(self._gateway)
        self._triggers.start()
        self._write_runtime_file()
        if self.dynamodb_local is not None:
            self.dynamodb_local.finish_warm_up()  # launched ahead with its warm-up held back until now

    def serve_forever(self) -> None:
        self._http.serve_forever()

    def stop(self) -> None:
        if self._triggers is not None:
            self._triggers.stop()
        if self._http is not None:
            with contextlib.suppress(OSError):
                self._http.server_close()
        if self._gateway is not None:
            self._gateway.close()
        if self._backend is not None:
            self._backend.stop()
            self._backend = None
        with contextlib.suppress(OSError):
            self.options.layout.remove_runtime()

    # --- parts -----------------------------------------------------------------------------------------
    def _start_backend(self) -> str:
        """The AWS endpoint: the embedded moto, or the given URL (plus an embedded moto for what it lacks).

        DynamoDB gets its own endpoint (``service_endpoints``): DynamoDB Local by default when embedded, or the
        URL given with ``--dynamodb``; with ``--backend URL`` the backend's own otherwise.
        """
        from localaws import EmbeddedBackend, EmbeddedServices

        if not self.options.embedded:
            url = self.options.backend.rstrip("/")
            if self.options.split_endpoint:
                split = self.options.split_endpoint.rstrip("/")
                self.service_endpoints = {service: split for service in SPLIT_SERVICES}
            else:
                local = self.options.local_services or (SPLIT_SERVICES if is_localstack(url) else ())
                if local:
                    self._backend = EmbeddedBackend(self.options.backend_dir, region=self.options.region)
                    self._backend.start()
                    self.service_endpoints = {service: str(self._backend.endpoint_url) for service in local}
                    log.info("serving %s from an embedded moto at %s", ", ".join(local), self._backend.endpoint_url)
            if self.options.dynamodb is not None:  # a URL (dev_server.py refuses local/moto with --backend)
                self.service_endpoints["dynamodb"] = self.options.dynamodb.rstrip("/")
            return url
        self._backend = EmbeddedServices(
            self.options.backend_dir,
            region=self.options.region,
            dynamodb=self.options.dynamodb or DYNAMODB_LOCAL,
            launched=self.dynamodb_local,
            gate=self._iam_gate(),
        )
        self._backend.start()
        self.service_endpoints = dict(self._backend.service_endpoints)
        return str(self._backend.endpoint_url)

    def _iam_gate(self) -> IamGate:
        """The embedded backend's IAM gate: the kit signs as admin, each function as its role (issued below)."""
        if self._credentials is None:
            self._credentials = CredentialStore(
                LOCAL_ACCOUNT_ID, PLACEHOLDER_ACCESS_KEY_ID, PLACEHOLDER_SECRET_ACCESS_KEY
            )
        if not self.options.iam:
            # for parity with LocalStack's ENFORCE_IAM=0: said at start, never silent.
            log.warning("IAM is not enforced (--no-iam): every AWS call a function makes is allowed, unlike on AWS")
        policies = moto_role_policies(LOCAL_ACCOUNT_ID)
        return IamGate(self._credentials, policies, enforce=self.options.iam, region=self.options.region)

    def _role_credentials(self, key: str) -> dict[str, str]:
        """The function's execution-role credentials, as Lambda puts them in its environment; the placeholder
        pair with an external backend (which enforces its own IAM, or none)."""
        if self._credentials is None:
            return dict(LOCAL_CREDENTIALS)
        spec = StackSpec(self.options.stack, self.options.region, LOCAL_ACCOUNT_ID, False, contract=self._contract())
        issued = self._issued.get(key)
        if issued is None:
            issued = self._issued[key] = self._credentials.issue(spec.role_name(key), spec.function_name(key))
        return issued.environment()

    def _trigger_pollers(self, gateway: Gateway) -> Triggers:
        """One poller per function with a trigger, as bootstrap deployed it (outputs["triggers"]): it polls with the
        function's role credentials and invokes through the gateway's Lambda runtime, as the API functions run."""
        pollers = []
        for key, trigger in sorted(self.outputs.get("triggers", {}).items()):
            config = TriggerConfig.from_outputs(key, trigger, self.options.region, self.options.trigger_window)
            sqs = functools.partial(self._role_client, "sqs", self._role_credentials(key))
            pollers.append(QueuePoller(config, sqs, functools.partial(gateway.runtime.invoke, api=False)))
        return Triggers(pollers)

    def _role_client(self, service: str, env: dict[str, str]) -> Any:
        """A client of the local backend signed as a function's role (the environment Lambda would give it)."""
        return client(
            service,
            role=Role.EMULATOR,
            endpoints=Endpoints.of(self.endpoint_url, self.service_endpoints),
            region=self.options.region,
            credentials=(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env.get("AWS_SESSION_TOKEN")),
        )

    def dynamodb_engine(self) -> str:
        """What serves DynamoDB, for the URL list and /_dev/health."""
        if self.options.embedded and self._backend is not None:
            return str(self._backend.dynamodb_engine)
        return "external" if "dynamodb" in self.service_endpoints else "the backend's own"

    def _client(self, service: str, role: Role = Role.EMULATOR) -> Any:
        """A client of the local backend, signed with the placeholder pair (real credentials never go there)."""
        return client(
            service,
            role=role,
            endpoints=Endpoints.of(self.endpoint_url, self.service_endpoints),
            region=self.options.region,
            credentials=(PLACEHOLDER_ACCESS_KEY_ID, PLACEHOLDER_SECRET_ACCESS_KEY, None),
        )

    def _function_env(self) -> dict[str, dict[str, str]]:
        """Each function's configuration from bootstrap, plus what points its SDK at the local backend."""
        local = {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            # botocore's per-service endpoints, e.g. AWS_ENDPOINT_URL_DYNAMODB for DynamoDB Local
            **{SERVICE_ENDPOINT_ENV[s]: url for s, url in self.service_endpoints.items() if s in SERVICE_ENDPOINT_ENV},
            "AWS_REGION": self.options.region,
            "AWS_DEFAULT_REGION": self.options.region,
            # The contract's one CORS policy (with --cors-origin), so handler responses match the gateway's errors.
            **cors_env(self._contract().cors, self.options.cors_origins),
        }
        return {
            name: {**{k: str(v) for k, v in env.items()}, **local, **self._role_credentials(name)}
            for name, env in self.outputs.get("functionEnvironment", {}).items()
        }

    def _gateway_config(self) -> GatewayConfig:
        opts = self.options
        return GatewayConfig(
            contract_path=opts.contract_path,
            functions_root=FUNCTIONS_ROOT,
            function_env=self._function_env(),
            stage=STAGE,
            cors_origins=opts.cors_origins,
            issuer=self.outputs["issuer"],
            audience=self.outputs["clientId"],
            # for parity: the pool's JWKS where the local Cognito publishes it (its own key per pool), as AWS
            # serves it at cognito-idp.<region>.amazonaws.com/<pool id>/.well-known/jwks.json.
            jwks_url=f"{opts.base_url}/cognito/{self.outputs['userPoolId']}/.well-known/jwks.json",
            function_timeouts=opts.function_timeouts,
            hot_reload=opts.hot_reload,
            region=opts.region,
            throttle=(THROTTLE_RATE_LIMIT, THROTTLE_BURST_LIMIT) if opts.throttle else None,
            integration_timeout_seconds=opts.integration_timeout or INTEGRATION_TIMEOUT_SECONDS,
        )

    def _contract(self) -> Contract:
        return load_contract(self.options.contract_path)

    def _dashboard(self) -> Any:
        from devserver.dashboard.web import dashboard_blueprint

        return dashboard_blueprint(
            lambda: self._client("s3", Role.READER),
            lambda: str(self.outputs["dataBucket"]),
            cache_path=self.options.layout.lake_cache,  # removed by --reset with the rest
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
            **{f"{name} endpoint": f"{url} ({self._engine(name)})" for name, url in self.service_endpoints.items()},
        }

    def _engine(self, service: str) -> str:
        if service == "dynamodb":
            return self.dynamodb_engine()
        return "embedded moto" if self._backend is not None else "external"

    def _write_runtime_file(self) -> None:
        self.options.layout.write_runtime(
            endpoint_url=self.endpoint_url,
            base_url=self.options.base_url,
            service_endpoints=self.service_endpoints,
            outputs=self.outputs,
        )


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
