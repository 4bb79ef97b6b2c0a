"""Circuit breakers per upstream (pybreaker), shared through Redis by every worker process."""
