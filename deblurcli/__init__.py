"""deblurcli: command-line image deblurring with pretrained weights, and its Python API.

    import deblurcli
    out = deblurcli.restore("photo.jpg")            # or a PIL image, or a numpy array
    r = deblurcli.load("dpa-compact"); out = r.restore(img, strength=0.8)

``restore``, ``load`` (a reusable ``Restorer``), ``defocus`` and ``calibrate`` live in
``deblurcli.api`` and are imported on first use, so `import deblurcli` stays light (no torch).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Restorer", "calibrate", "defocus", "load", "restore", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("Restorer", "calibrate", "defocus", "load", "restore"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'deblurcli' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
