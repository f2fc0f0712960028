"""UpdateExpenseFunction."""
