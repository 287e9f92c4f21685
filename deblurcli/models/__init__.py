"""Checkpoint files: safetensors with metadata {arch, hparams, ...}; strict loading."""
