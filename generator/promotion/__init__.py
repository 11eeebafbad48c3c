"""Deployment decisions as commits and pull requests: the edits (promote, set, rollback, canary,
blue-green), applying one on its own branch in a scratch worktree, the commit trailers and the
history they make, the object diff and the pull request body."""
