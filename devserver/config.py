"""The dev server's options and the file layout of its state directory."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kit import constants
from kit import contract as kit_contract
from kit.state import DEFAULT_STATE_ROOT, StateLayout

ROOT = Path(__file__).resolve().parent.parent
CONTRACT_PATH = kit_contract.CONTRACT_PATH
FUNCTIONS_ROOT = ROOT / "lambdas"
FRONTEND_ROOT = ROOT / "frontend"
EMBEDDED = "embedded"
STAGE = constants.STAGE
# What LocalStack's free tier lacks, served by the embedded moto when --backend is LocalStack.
SPLIT_SERVICES = ("cognito-idp", "cloudfront")
# Where DynamoDB is served (`--dynamodb`): AWS's DynamoDB Local as a child process (the embedded default), the
# embedded moto, or the URL of a DynamoDB endpoint that already runs.
DYNAMODB_LOCAL = "local"
DYNAMODB_MOTO = "moto"
# Fake credentials for local backends: moto and LocalStack accept any; real ones must never be sent there.
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": constants.PLACEHOLDER_ACCESS_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": constants.PLACEHOLDER_SECRET_ACCESS_KEY,
}


@dataclass(frozen=True)
class DevOptions:
    """What `python dev_server.py` was asked to do."""

    host: str = "127.0.0.1"
    port: int = 8000
    backend: str = EMBEDDED  # "embedded", or the URL of a moto server / LocalStack already provisioned
    state_dir: Path = DEFAULT_STATE_ROOT
    stack: str = "dev"
    region: str = constants.DEFAULT_REGION
    reset: bool = False
    demo: bool = False
    cors_origins: tuple[str, ...] | None = None
    allowed_hosts: tuple[str, ...] = ()  # Host names served besides loopback and --host
    hot_reload: bool = True
    # With an external backend: serve these services from an embedded moto instead (automatic for LocalStack,
    # whose free tier has no Cognito or CloudFront).
    local_services: tuple[str, ...] = ()
    # ... or from this endpoint (e.g. a moto server) instead of an embedded moto.
    split_endpoint: str | None = None
    function_timeouts: dict[str, float] = field(default_factory=dict)
    # "local", "moto" or a URL; None = the default: DynamoDB Local when embedded, the backend's own otherwise.
    dynamodb: str | None = None
    # The deployed stage's throttling (rate, burst) applied locally too: 429 {"message":"Too Many Requests"}.
    throttle: bool = False
    # Each function runs with its execution role's credentials and is refused what the role does not allow
    # (embedded backend). False (--no-iam) allows every call, with a warning at start.
    iam: bool = True
    # The API contract: api/openapi.yaml, or an overlay adding operations and functions to it (--contract).
    contract_path: Path = CONTRACT_PATH
    # API Gateway's integration timeout in seconds; None = AWS's 29 s (--integration-timeout, for quick tests).
    integration_timeout: float | None = None
    # The lake trigger's batch window in seconds, replacing the contract's (tests: a short one); None = the contract's.
    trigger_window: float | None = None

    @property
    def embedded(self) -> bool:
        return self.backend == EMBEDDED

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    # --- the state directory: everything the dev server keeps between runs (kit.state knows every path) ---
    @property
    def layout(self) -> StateLayout:
        return StateLayout(self.state_dir, self.stack)

    @property
    def backend_dir(self) -> Path:
        return self.layout.backend_dir

    @property
    def cognito_state(self) -> Path:
        return self.layout.cognito_state

    @property
    def mailbox_file(self) -> Path:
        return self.layout.mailbox_file

    @property
    def runtime_file(self) -> Path:
        """Where a running dev server says which endpoint it serves (for `make reconcile`)."""
        return self.layout.runtime_file
