"""The CloudFormation path: the stack's template from the direct path's definition, linted, deployed by change set."""
