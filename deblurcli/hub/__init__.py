"""Checkpoint registry (weights.toml) and resolution: explicit path, env dir, bundled, HF cache, download."""
