"""Judging a release from what it serves: verify against Prometheus, and the traffic split
simulated with the serving app's own routing function."""
