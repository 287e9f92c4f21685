"""``python -m deblurcli.train CONFIG [--resume] [--export]`` — same as ``deblur train``."""

from __future__ import annotations

from .cli.train import app

if __name__ == "__main__":
    app()
