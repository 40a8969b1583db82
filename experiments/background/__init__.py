"""Background subtraction experiment."""
