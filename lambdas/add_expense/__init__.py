"""AddExpenseFunction."""
