"""Data lake analytics: the QuickSight manifest, lake checks, QuickSight provisioning and a local dashboard."""

from quicksight.check import Problem, check_lake
from quicksight.manifest import MANIFEST_KEY, build_manifest, upload_manifest

__all__ = ["MANIFEST_KEY", "Problem", "build_manifest", "check_lake", "upload_manifest"]
