"""ExpenseReportsFunction."""
