"""The parity suite: one set of API Gateway / Cognito behaviours, run against the dev server or a deployed stack."""
