"""DeleteExpenseFunction."""
