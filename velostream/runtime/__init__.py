"""The job loop: sources → pipeline → sinks, failure strategies, metrics (one query = one job)."""
