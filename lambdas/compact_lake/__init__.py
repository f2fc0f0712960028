"""CompactLakeFunction: keeps analytics/ current from the lake's S3 event notifications."""
