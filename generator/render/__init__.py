"""Rendering: one module per artefact kind, each declaring its output; the registry lists them."""
