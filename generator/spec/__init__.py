"""The spec: its typed model, loading it (YAML with positions, JSON Schema, defaults merged once)
and editing one field of its text."""
