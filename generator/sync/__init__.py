"""Writing a rendered tree to disk: the plan of file changes and the journal that applies them
all or nothing."""
