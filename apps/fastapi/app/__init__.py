"""The model-serving app: MLflow registry models by alias, routed A/B, canary or blue-green."""
