"""Expression evaluation: kernels and the compiler against a row-by-row reference evaluator."""
