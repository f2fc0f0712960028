"""Offline checks of the template: cfn-lint against AWS's resource specification, parliament on every IAM policy.

cfn-lint knows each resource type's properties per region and (W3037) every service's IAM actions; parliament knows
each action's resource types, so an ARN of the wrong form for its action (RESOURCE_MISMATCH), a malformed ARN
(INVALID_ARN), an unknown action or condition key fails here, before CloudFormation or IAM sees it.
`python -m bootstrap.cfn.lint TEMPLATE [--region R]` runs the policy half (make lint runs cfn-lint's CLI itself).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bootstrap.cfn.resolve import Resolver, example_physical_ids, pseudo_parameters

EXAMPLE_ACCOUNT = "123456789012"
# Identity and resource policies; trust policies have no Resource, which parliament reads as malformed, so their
# actions are left to cfn-lint (W3037 checks every policy document in the template).
_IDENTITY = "identity"
_RESOURCE = "resource"


@dataclass(frozen=True)
class Finding:
    """One problem, located in the template."""

    where: str
    code: str
    detail: str

    def line(self) -> str:
        return f"{self.where}: {self.code} {self.detail}"


def policy_documents(resources: dict[str, dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    """(where, identity|resource, document) of every policy a resolved template carries."""
    found: list[tuple[str, str, dict[str, Any]]] = []
    for logical_id, resource in resources.items():
        kind, properties = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::IAM::Role":
            for policy in properties.get("Policies", []):
                found.append((f"{logical_id}.Policies[{policy['PolicyName']}]", _IDENTITY, policy["PolicyDocument"]))
        elif kind in ("AWS::IAM::RolePolicy", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            found.append((f"{logical_id}.PolicyDocument", _IDENTITY, properties["PolicyDocument"]))
        elif kind in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy"):
            found.append((f"{logical_id}.PolicyDocument", _RESOURCE, properties["PolicyDocument"]))
    return found


def resolved_policies(template: dict[str, Any], region: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every policy document with example values, every optional part switched on (QuickSight enabled)."""
    parameters = {
        **pseudo_parameters(region, EXAMPLE_ACCOUNT),
        "ArtifactBucket": "example-artifacts",
        "PageTokenSecret": "x" * 32,
        "QuickSight": "enabled",
    }
    resolver = Resolver(template, parameters, example_physical_ids(EXAMPLE_ACCOUNT, region))
    return policy_documents(resolver.resources())


def lint_policies(template: dict[str, Any], region: str) -> list[Finding]:
    """Parliament's findings on every identity and resource policy of the template."""
    from parliament import analyze_policy_string  # lazy: a lint-only dependency

    findings = []
    for where, _kind, document in resolved_policies(template, region):
        policy = analyze_policy_string(
            json.dumps(document), ignore_private_auditors=True, include_community_auditors=False
        )
        for finding in policy.findings:
            findings.append(Finding(where, str(finding.issue), json.dumps(finding.detail, default=str)))
    return findings


def lint_template(template_text: str, regions: list[str]) -> list[Finding]:
    """cfn-lint's errors, warnings and informational matches for `regions`."""
    from cfnlint.api import lint  # lazy: a lint-only dependency

    return [
        Finding(f"line {match.linenumber}", match.rule.id, str(match.message))
        for match in lint(template_text, regions=regions)
    ]


def load(path: Path) -> tuple[str, dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    return text, yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bootstrap.cfn.lint", description=__doc__)
    parser.add_argument("template", type=Path)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--with-cfn-lint", action="store_true", help="also run cfn-lint (make lint runs its CLI)")
    args = parser.parse_args(argv)
    text, template = load(args.template)
    findings = lint_policies(template, args.region)
    if args.with_cfn_lint:
        findings += lint_template(text, [args.region])
    for finding in findings:
        sys.stderr.write(finding.line() + "\n")
    documents = len(resolved_policies(template, args.region))
    sys.stdout.write(f"policy lint: {documents} policy documents checked by parliament, {len(findings)} findings\n")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
