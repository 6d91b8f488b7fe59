"""Shared test set-up: integration tests are skipped only when asked (LIS_SKIP_INTEGRATION=1)."""
