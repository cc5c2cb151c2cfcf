"""The built-in synthetic world: problems, a long-winded programmatic teacher, tiny students."""

# Here, not in models.py, so that the CLI can offer the choices without importing torch.
ARCHS = ("qwen2", "qwen3")
