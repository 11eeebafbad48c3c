"""The validator: spec policies, drift, schemas of every rendered document, the real Helm render."""
