"""The probe function's package (its zip holds app.py at the root, as every function's does)."""
