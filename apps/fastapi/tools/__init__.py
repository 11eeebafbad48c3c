"""Local development tools: a real MLflow server with real registered models (demo, tests, bench)."""
