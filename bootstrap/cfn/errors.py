"""The CloudFormation path's errors, light enough for the command line to import up front."""

from __future__ import annotations


class TemplateError(ValueError):
    """The definition cannot be expressed as a template (e.g. a resource kind with no CloudFormation mapping)."""


class DeployError(RuntimeError):
    """CloudFormation refused or rolled back; the message names the failing resource and CloudFormation's reason."""


class DeployAborted(RuntimeError):
    """The user said no; the change set was removed and nothing was changed."""
