"""CompactLakeFunction: S3 event notifications of the lake, batched by SQS, rewrite the compacted analytics files."""

import json
import os
from typing import Any

from expense_core.compaction import handle_sqs_batch, shards_from_env
from expense_core.composition import build_compactor
from expense_core.config import Settings


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    compactor = build_compactor(Settings.from_env(), shards_from_env(os.environ))
    return handle_sqs_batch(event, compactor, json.loads)
