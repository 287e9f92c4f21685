"""Arrays that options name (``--kernel``, ``--blur-map``): a ``.npy`` file or an image read as it is
stored (any bit depth, no colour conversion), with one ``InputError`` line when it cannot be read."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError


def read_array(path: Path, option: str, hint: str = "") -> np.ndarray:
    """The array in ``path`` for ``option`` (e.g. "--kernel"): ``.npy`` (no pickles) or an image."""
    if not path.is_file():
        raise InputError(f"{option} {path}: no such file")
    if path.suffix.lower() == ".npy":
        try:
            return np.load(path, allow_pickle=False)
        except (ValueError, OSError) as e:
            raise InputError(f"{option} {path}: not a readable .npy array ({e})") from e
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise InputError(f"{option} {path}: not a readable image", hint or None)
    return raw
