"""The expense tracker's domain package, shipped inside every Lambda zip: validation, storage, HTTP mapping."""
