"""One idempotent provisioning of the whole expense tracker stack, locally or on AWS, from one definition."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bootstrap.engine import Change, RunResult, run_down, run_status, run_up
from bootstrap.resources.base import Reporter
from bootstrap.target import Target
from kit.contract import CONTRACT_PATH
from kit.state import DEFAULT_STATE_ROOT

if TYPE_CHECKING:
    from localaws.mutations import WriteLedger

DEFAULT_STACK = "dev"
DEFAULT_REGION = "us-east-1"


def up(
    target: Target,
    stack: str = DEFAULT_STACK,
    region: str = DEFAULT_REGION,
    reporter: Reporter = print,
    state_root: Path = DEFAULT_STATE_ROOT,
    contract_path: Path = CONTRACT_PATH,
    ledger: Callable[[], WriteLedger] | None = None,
) -> dict[str, Any]:
    """Creates or updates every resource; returns the outputs (also written under state_root/stack).

    ``ledger``: the write ledger of the embedded backend serving ``target``, from its owner (the dev server), so
    that reads saved by the last `up` stand in for reading again while it shows no change (bootstrap/read_cache).
    """
    return run_up(target, stack, region, reporter, Path(state_root), contract_path=contract_path, ledger=ledger).outputs


def plan(
    target: Target,
    stack: str = DEFAULT_STACK,
    region: str = DEFAULT_REGION,
    reporter: Reporter = print,
    state_root: Path = DEFAULT_STATE_ROOT,
    contract_path: Path = CONTRACT_PATH,
) -> list[Change]:
    """What `up` would do, without doing it."""
    return run_up(target, stack, region, reporter, Path(state_root), dry_run=True, contract_path=contract_path).changes


def down(
    target: Target,
    stack: str = DEFAULT_STACK,
    region: str = DEFAULT_REGION,
    reporter: Reporter = print,
    state_root: Path = DEFAULT_STATE_ROOT,
    contract_path: Path = CONTRACT_PATH,
) -> list[Change]:
    """Deletes everything `up` created (buckets emptied of every version first)."""
    return run_down(target, stack, region, reporter, Path(state_root), contract_path=contract_path).changes


def status(
    target: Target,
    stack: str = DEFAULT_STACK,
    region: str = DEFAULT_REGION,
    reporter: Reporter = print,
    state_root: Path = DEFAULT_STATE_ROOT,
    contract_path: Path = CONTRACT_PATH,
) -> list[Change]:
    """Each resource's state (in sync / drifted / missing) and the QuickSight lake check."""
    return run_status(target, stack, region, reporter, Path(state_root), contract_path=contract_path).changes


def iam_policies(stack: str, region: str, account_id: str) -> dict[str, dict[str, Any]]:
    """Every function role's policy document, keyed by role name (read by the security tests)."""
    from bootstrap.policies import iam_policies_for
    from bootstrap.spec import StackSpec

    return iam_policies_for(StackSpec(stack=stack, region=region, account_id=account_id, on_aws=True))


__all__ = ["Change", "RunResult", "Target", "down", "iam_policies", "plan", "status", "up"]
