"""The built-in synthetic world: problems, a long-winded programmatic teacher, tiny students."""
