"""GetExpenseFunction."""
