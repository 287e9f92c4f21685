"""A pure tiling planner: no tensors, only geometry.

The image is cut into *cores* that partition it; each tile's input is its core grown by ``context``
pixels on every side (clipped to the image), so every kept pixel saw ``context`` pixels of real
neighbours. Neighbouring tiles' outputs are blended across each core boundary with complementary
raised-cosine ramps of width ``ramp`` (weights sum to 1), so seams vanish and tiled output matches
untiled output to within the network's residual dependence on far-away pixels.

Tile origins and core boundaries are multiples of ``multiple`` (the network's total stride), so every
tile sees the same sampling grid as the whole image would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tile:
    """Input box [y0, y1) × [x0, x1) grown around the core [cy0, cy1) × [cx0, cx1)."""

    y0: int
    y1: int
    x0: int
    x1: int
    cy0: int
    cy1: int
    cx0: int
    cx1: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.y1 - self.y0, self.x1 - self.x0


@dataclass(frozen=True)
class Plan:
    height: int
    width: int
    ybounds: tuple[int, ...]  # core boundaries incl. 0 and height
    xbounds: tuple[int, ...]
    context: int
    ramp: int

    @property
    def tiles(self) -> list[Tile]:
        out = []
        for i in range(len(self.ybounds) - 1):
            for j in range(len(self.xbounds) - 1):
                cy0, cy1, cx0, cx1 = self.ybounds[i], self.ybounds[i + 1], self.xbounds[j], self.xbounds[j + 1]
                out.append(Tile(max(cy0 - self.context, 0), min(cy1 + self.context, self.height),
                                max(cx0 - self.context, 0), min(cx1 + self.context, self.width), cy0, cy1, cx0, cx1))
        return out

    def weights(self, tile: Tile) -> tuple[np.ndarray, np.ndarray]:
        """Blend weights along y and x for ``tile``'s input box (outer product gives the 2-D weight)."""
        return (_axis_weights(tile.y0, tile.y1, tile.cy0, tile.cy1, self.height, self.ramp),
                _axis_weights(tile.x0, tile.x1, tile.cx0, tile.cx1, self.width, self.ramp))


def _axis_bounds(length: int, tile: int, context: int, core: int, multiple: int) -> tuple[int, ...]:
    """Core boundaries along one axis: the fewest cores whose tiles (core + context on each inner
    side; edge tiles have context on one side only) are at most ``tile`` long, and never more than
    cores of the minimum size ``core`` would need."""
    most = max(1, math.ceil(length / core))
    for n in range(1, most):
        bounds = _split(length, n, multiple)
        widest = max(min(b + context, length) - max(a - context, 0) for a, b in zip(bounds, bounds[1:]))
        if widest <= tile:
            return bounds
    return _split(length, most, multiple)


def _split(length: int, n: int, multiple: int) -> tuple[int, ...]:
    if n == 1:
        return (0, length)
    bounds = [0]
    for i in range(1, n):
        b = round(i * length / n / multiple) * multiple
        if bounds[-1] < b < length:
            bounds.append(b)
    bounds.append(length)
    return tuple(bounds)


def _axis_weights(a: int, b: int, lo: int, hi: int, length: int, ramp: int) -> np.ndarray:
    """Weight along one axis at pixels a..b-1 of a tile whose core is [lo, hi)."""
    x = np.arange(a, b, dtype=np.float64) + 0.5
    w = np.ones_like(x)
    if lo > 0:
        w *= _ramp(x - lo, ramp)
    if hi < length:
        w *= _ramp(hi - x, ramp)
    return w.astype(np.float32)


def _ramp(d: np.ndarray, ramp: int) -> np.ndarray:
    """0 → 1 raised cosine over d ∈ [-ramp/2, ramp/2]; complementary across a boundary."""
    if ramp <= 0:
        return (d > 0).astype(np.float64)
    t = np.clip(d / ramp + 0.5, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * t)


def plan(height: int, width: int, tile: int | None, context: int, multiple: int, ramp: int = 16) -> Plan:
    """Plan tiles of at most about ``tile`` px (input side) for an image; ``tile=None``: one tile."""
    context = math.ceil(context / multiple) * multiple
    ramp = min(ramp, context)
    if tile is None or (height <= tile and width <= tile):
        return Plan(height, width, (0, height), (0, width), context, ramp)
    core = max(tile - 2 * context, context, multiple)
    core = max((core // multiple) * multiple, multiple)
    return Plan(height, width, _axis_bounds(height, tile, context, core, multiple),
                _axis_bounds(width, tile, context, core, multiple), context, ramp)
