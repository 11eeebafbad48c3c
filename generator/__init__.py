"""gitopsgen: render and validate a GitOps repository from one environments spec."""

__version__ = "0.1.0"
