"""The dev server's options and the file layout of its state directory."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTRACT_PATH = ROOT / "api" / "openapi.yaml"
FUNCTIONS_ROOT = ROOT / "lambdas"
FRONTEND_ROOT = ROOT / "frontend"
EMBEDDED = "embedded"
STAGE = "prod"
# What LocalStack's free tier lacks, served by the embedded moto when --backend is LocalStack.
SPLIT_SERVICES = ("cognito-idp", "cloudfront")
# Fake credentials for local backends: moto and LocalStack accept any; real ones must never be sent there.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass(frozen=True)
class DevOptions:
    """What `python dev_server.py` was asked to do."""

    host: str = "127.0.0.1"
    port: int = 8000
    backend: str = EMBEDDED  # "embedded", or the URL of a moto server / LocalStack already provisioned
    state_dir: Path = Path(".devstate")
    stack: str = "dev"
    region: str = "us-east-1"
    reset: bool = False
    demo: bool = False
    cors_origins: tuple[str, ...] | None = None
    hot_reload: bool = True
    # With an external backend: serve these services from an embedded moto instead (automatic for LocalStack,
    # whose free tier has no Cognito or CloudFront).
    local_services: tuple[str, ...] = ()
    # ... or from this endpoint (e.g. a moto server) instead of an embedded moto.
    split_endpoint: str | None = None
    function_timeouts: dict[str, float] = field(default_factory=dict)
    # The deployed stage's throttling (rate, burst) applied locally too: 429 {"message":"Too Many Requests"}.
    throttle: bool = False

    @property
    def embedded(self) -> bool:
        return self.backend == EMBEDDED

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    # --- the state directory: everything the dev server keeps between runs ---
    @property
    def backend_dir(self) -> Path:
        return self.state_dir / "backend"

    @property
    def cognito_state(self) -> Path:
        return self.state_dir / "cognito" / f"{self.stack}.json"

    @property
    def mailbox_file(self) -> Path:
        return self.state_dir / "cognito" / f"{self.stack}-mailbox.json"

    @property
    def runtime_file(self) -> Path:
        """Where a running dev server says which endpoint it serves (for `make reconcile`)."""
        return self.state_dir / self.stack / "runtime.json"
