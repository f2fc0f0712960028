"""The Lambda functions: one folder each, `app.py:lambda_handler`, zipped with `expense_core/`."""
