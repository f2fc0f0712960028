"""The local Cognito layer driven by amazon-cognito-identity-js (the web pages' library) under Node."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import jwt
import pytest

from tests.cognito.support import PASSWORD, REGION, Pool

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "frontend" / "node_modules" / "amazon-cognito-identity-js"
SCRIPT = Path(__file__).with_name("js_sdk_flow.js")
NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed (the Makefile's install target needs it)")
@pytest.mark.skipif(not SDK.is_dir(), reason="frontend/node_modules is missing: run `make install`")
def test_the_js_sdk_signs_up_confirms_and_signs_in(layer_url: str, pool: Pool, jwks_base: str, alice: str) -> None:
    env = {
        **os.environ,
        "SDK_PATH": str(SDK),
        "POOL_ID": pool.pool_id,
        "CLIENT_ID": pool.client_id,
        "ENDPOINT": f"{layer_url}/cognito/",
        "MAILBOX_URL": f"{layer_url}/_dev/mailbox",
        "USERNAME": alice,
        "PASSWORD": PASSWORD,
    }
    run = subprocess.run([str(NODE), str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["duplicate"] == "UsernameExistsException"
    assert seen["wrongCode"] == "CodeMismatchException"
    assert seen["wrongPassword"] == "NotAuthorizedException"
    assert seen["username"] == alice
    assert seen["refreshed"] is True
    jwks = jwt.PyJWKClient(f"{jwks_base}/{pool.pool_id}/.well-known/jwks.json")
    claims = jwt.decode(
        seen["idToken"],
        jwks.get_signing_key_from_jwt(seen["idToken"]).key,
        algorithms=["RS256"],
        audience=pool.client_id,
        issuer=f"https://cognito-idp.{REGION}.amazonaws.com/{pool.pool_id}",
    )
    assert claims["cognito:username"] == alice
