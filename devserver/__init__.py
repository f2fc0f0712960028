"""The local dev server's parts: API Gateway emulation, local Cognito, embedded backend, Flask app."""
