"""Run a model over a photo: tiles (planner), batching, precision, device, OOM back-off.

Conditioning (a distortion prior, a blur map) is cropped or resampled per tile by a ``Condition``,
so a tile receives exactly what the whole image would give at those pixels.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..archs._blocks import pad_to_multiple
from ..errors import ModelOutputError, UsageError
from .fuse import fold_batchnorm
from .tone import keep_tone
from .tiling import Plan, Tile, plan

log = logging.getLogger("deblurcli.engine")
MAX_GRAPHS = 4  # CUDA graphs kept per Runner (each holds its shape's buffers on the GPU)

Precision = Literal["auto", "fp32", "bf16", "fp16"]


class Condition(Protocol):
    def for_tile(self, y0: int, y1: int, x0: int, x1: int, height: int, width: int, scale: int = 1) -> dict[str, Any]:
        """Model keyword arguments for the padded input box [y0, y1) × [x0, x1) of an H×W image;
        ``scale``: image pixels per pixel of the model's finest feature level."""


@dataclass(frozen=True)
class BlurMap:
    """A per-pixel map (H×W, float32) cropped per tile (edge-replicated beyond the image)."""

    values: np.ndarray
    key: str = "blur_map"

    def for_tile(self, y0: int, y1: int, x0: int, x1: int, height: int, width: int, scale: int = 1) -> dict[str, Any]:
        ys = np.clip(np.arange(y0, y1), 0, height - 1)
        xs = np.clip(np.arange(x0, x1), 0, width - 1)
        crop = self.values[np.ix_(ys, xs)]
        return {self.key: torch.from_numpy(np.ascontiguousarray(crop))[None, None]}


@dataclass(frozen=True)
class PriorField:
    """A multi-scale prior on a coarse grid over normalised sensor coordinates; level i is sampled at
    the pixel centres of the (scale·2^i)-downsampled tile (bilinear, edge-clamped) — the same values a
    whole image gets from bilinear resizing."""

    levels: tuple[torch.Tensor, ...]  # each (1, P, Gh, Gw)

    def for_tile(self, y0: int, y1: int, x0: int, x1: int, height: int, width: int, scale: int = 1) -> dict[str, Any]:
        out = []
        for i, lev in enumerate(self.levels):
            s = scale * 2**i
            ny, nx = (y1 - y0) // s, (x1 - x0) // s
            gy = ((y0 + (torch.arange(ny, dtype=torch.float64) + 0.5) * s) / height) * 2 - 1
            gx = ((x0 + (torch.arange(nx, dtype=torch.float64) + 0.5) * s) / width) * 2 - 1
            grid = torch.stack(torch.meshgrid(gx, gy, indexing="xy"), -1).float()[None]
            out.append(F.grid_sample(lev.float(), grid, mode="bilinear", padding_mode="border", align_corners=False))
        return {"prior": out}


@dataclass(frozen=True)
class RunConfig:
    device: str = "cpu"
    precision: Precision = "auto"
    tile: int | None = 512  # input side in px; None: whole image at once
    context: int | None = None  # px of context per side; default: the arch's context_px (else receptive_px)
    batch: int = 1
    channels_last: bool = True
    # CUDA only: record each input shape's forward pass once as a CUDA graph and replay it (no per-layer
    # launch cost; small nets on big GPUs are launch-bound). A net that cannot be recorded runs eagerly.
    cuda_graph: bool = False
    # σ (px) of the tone guard (``engine.tone``): the output keeps the input's low frequencies; 0: off.
    tone_sigma: float = 0.0
    # Blind runs: the photo is mirrored this many px beyond its edges before the net sees it, and cropped
    # after, so edge pixels have real-looking neighbours instead of the convolutions' zero padding (a
    # flat saturated colour came back up to 23 levels off in its outer 4 px). Conditioned runs: 0.
    edge_pad: int = 0


def default_context(model: nn.Module) -> int:
    """Context px per tile side: the arch's measured ``context_px`` (the smallest context whose tiled
    output stays within 2 8-bit levels of the whole-image output on validation photos, with unchanged
    PSNR; ``scripts/tile_context.py``), else its ``receptive_px`` bound."""
    return int(getattr(model, "context_px", getattr(model, "receptive_px", 64)))


def cpu_has_bf16() -> bool:
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


DEVICE_HINTS = {"gpu": "cuda", "nvidia": "cuda", "apple": "mps", "metal": "mps"}


def pick_device(name: str) -> torch.device:
    """The device a --device name means: auto | cpu | cuda | cuda:N | mps; anything else, or a device
    that is not here, is a ``UsageError`` with a hint (never a traceback)."""
    n = name.strip().lower()
    if n == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if n in DEVICE_HINTS:
        raise UsageError(f"--device {name!r}: unknown device name", f"did you mean --device {DEVICE_HINTS[n]}?")
    if n.isdigit():
        raise UsageError(f"--device {name!r}: unknown device name", f"did you mean --device cuda:{n}?")
    kind, _, index = n.partition(":")
    if kind not in ("cpu", "cuda", "mps") or (index and not index.isdigit()):
        raise UsageError(f"--device {name!r}: unknown device name", "use auto, cpu, cuda, cuda:N or mps")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"--device {name}: no CUDA device is available", "use --device cpu or auto")
        if index and int(index) >= torch.cuda.device_count():
            raise UsageError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                             f"cuda:0 to cuda:{torch.cuda.device_count() - 1}")
    if kind == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UsageError(f"--device {name}: no Apple GPU is available", "use --device cpu or auto")
    return torch.device(n)


def pick_precision(p: Precision, device: torch.device) -> torch.dtype:
    if p == "fp32":
        return torch.float32
    if p == "bf16":
        return torch.bfloat16
    if p == "fp16":
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and cpu_has_bf16():
        return torch.bfloat16
    return torch.float32


def _autocast(device: torch.device, dtype: torch.dtype) -> Any:
    if dtype == torch.float32:
        return nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def _is_oom(e: BaseException) -> bool:
    return isinstance(e, torch.cuda.OutOfMemoryError) or "out of memory" in str(e).lower()


# A restoration net's output may overshoot [0, 1] a little at edges; this far out, over more than
# OUT_OF_RANGE_SHARE of the pixels, it is no picture (a corrupt checkpoint gave all-black, exit 0).
OUT_OF_RANGE = 0.5
OUT_OF_RANGE_SHARE = 0.01


def check_output(y: torch.Tensor, finite_only: bool = False) -> None:
    """Raise ``ModelOutputError`` for a network output that cannot be a picture: a value that is not
    finite, or (unless ``finite_only``) more than ``OUT_OF_RANGE_SHARE`` of the values beyond
    [-0.5, 1.5]."""
    if not bool(torch.isfinite(y).all()):
        raise ModelOutputError("the network produced non-finite values (NaN or infinity)")
    if finite_only:
        return
    far = ((y < -OUT_OF_RANGE) | (y > 1 + OUT_OF_RANGE)).float().mean()
    if float(far) > OUT_OF_RANGE_SHARE:
        raise ModelOutputError(f"the network's output is far outside [0, 1] for {100 * float(far):.0f}% of the values")


class Runner:
    """Holds a model on its device and restores whole images tile by tile."""

    def __init__(self, model: nn.Module, cfg: RunConfig = RunConfig()) -> None:
        self.device = pick_device(cfg.device)
        self.dtype = pick_precision(cfg.precision, self.device)
        self.cfg = cfg
        self.multiple = int(getattr(model, "multiple", 1))
        self.level_scale = model.level_scale(0) if hasattr(model, "level_scale") else 1
        self.context_default = default_context(model)
        self.context = cfg.context if cfg.context is not None else self.context_default
        model, _ = fold_batchnorm(model.eval())
        model = model.to(self.device)
        if cfg.channels_last and self.device.type != "mps" and getattr(model, "channels_last", True):
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self._graphs: dict[tuple, "_Graph | None"] = {}
        if self.device.type == "cpu" and "OMP_NUM_THREADS" not in os.environ:  # set: the user's or the
            torch.set_num_threads(max(torch.get_num_threads(), os.cpu_count() or 1))  # cluster's share (Ray)

    def plan(self, h: int, w: int, tile: int | None) -> Plan:
        return plan(h, w, tile, self.context, self.multiple)

    @torch.inference_mode()
    def _forward(self, x: torch.Tensor, kwargs: dict[str, Any], keep: bool = False) -> torch.Tensor:
        """The net's output in [0, 1], float32, on the CPU (``keep``: left on the device)."""
        x = x.to(self.device)
        if self.cfg.channels_last and self.device.type != "mps":
            x = x.contiguous(memory_format=torch.channels_last)
        kw = {k: [t.to(self.device) for t in v] if isinstance(v, list) else v.to(self.device) for k, v in kwargs.items()}
        g = self._graph(x, kw) if self.cfg.cuda_graph and self.device.type == "cuda" else None
        if g is not None:
            y = g(x, kw)
        else:
            with _autocast(self.device, self.dtype):
                y = self.model(x, **kw)
        y = y.float()
        check_output(y, finite_only=getattr(self.model, "range_checked_after", False))
        y = y.clamp(0, 1)
        return y if keep else y.cpu()

    def _whole(self, rgb: np.ndarray, cond: Condition | None) -> np.ndarray:
        """The whole image as one tile with the layout changes and padding done on the device, so that
        only the image itself crosses to a GPU and back (it restores 1280x720 in a few ms, and the host
        copies were half of it: scripts/gpu_breakdown.py)."""
        h, w = rgb.shape[:2]
        x = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).to(self.device).permute(2, 0, 1)[None]
        x, _ = pad_to_multiple(x, self.multiple)
        kwargs = cond.for_tile(0, x.shape[-2], 0, x.shape[-1], h, w, self.level_scale) if cond is not None else {}
        y = self._forward(x, kwargs, keep=True)
        return y[0, :, :h, :w].permute(1, 2, 0).contiguous().cpu().numpy()

    def _graph(self, x: torch.Tensor, kw: dict[str, Any]) -> "_Graph | None":
        """The CUDA graph recorded for these input shapes (recorded now if new); None where recording
        failed (the net then runs eagerly)."""
        key = tuple(tuple(t.shape) for t in [x, *_flat(kw)])
        if key not in self._graphs:
            if len(self._graphs) >= MAX_GRAPHS:  # a folder of many sizes: keep the newest shapes' graphs only
                del self._graphs[next(iter(self._graphs))]
            try:
                self._graphs[key] = _Graph(self.model, x, kw, self.device, self.dtype)
            except RuntimeError as e:
                if _is_oom(e):
                    raise
                log.warning("CUDA graph recording failed (%s); running eagerly", e)
                self._graphs[key] = None
        return self._graphs[key]

    def _run_tiles(self, img: torch.Tensor, p: Plan, cond: Condition | None,
                   progress: Callable[[int, int], None] | None) -> np.ndarray:
        h, w = img.shape[-2:]
        out: np.ndarray | None = None
        tiles = p.tiles
        groups: dict[tuple[int, int], list[Tile]] = {}
        for t in tiles:
            groups.setdefault(t.shape, []).append(t)
        done = 0
        for shape, group in groups.items():
            for i in range(0, len(group), max(self.cfg.batch, 1)):
                chunk = group[i : i + max(self.cfg.batch, 1)]
                x = torch.cat([img[..., t.y0 : t.y1, t.x0 : t.x1] for t in chunk])
                x, _ = pad_to_multiple(x, self.multiple)
                kwargs: dict[str, Any] = {}
                if cond is not None:
                    parts = [cond.for_tile(t.y0, t.y0 + x.shape[-2], t.x0, t.x0 + x.shape[-1], h, w, self.level_scale) for t in chunk]
                    kwargs = {k: _cat([pt[k] for pt in parts]) for k in parts[0]}
                y = self._forward(x, kwargs)[..., : shape[0], : shape[1]]
                if out is None:
                    # Allocated once the first tile's activations are freed: it then reuses their
                    # already-faulted memory instead of faulting in fresh pages (0.3 s per 12 MP photo).
                    out = np.zeros((h, w, 3), np.float32)
                for t, yt in zip(chunk, y):
                    wy, wx = p.weights(t)
                    tile_hwc = yt.permute(1, 2, 0).numpy()  # a view of this tile's own output
                    tile_hwc *= np.multiply.outer(wy.astype(np.float32), wx.astype(np.float32))[..., None]
                    out[t.y0 : t.y1, t.x0 : t.x1] += tile_hwc
                done += len(chunk)
                if progress:
                    progress(done, len(tiles))
        assert out is not None
        return out

    def restore(self, rgb: np.ndarray, cond: Condition | None = None, tile: int | None = -1,
                progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Restore an H×W×3 float32 image in [0, 1], then keep its low frequencies (``cfg.tone_sigma``).
        On CUDA out-of-memory the tile is halved and the whole image is redone (no tile is ever
        written that was not computed)."""
        m = min(self.cfg.edge_pad, rgb.shape[0] - 1, rgb.shape[1] - 1) if cond is None else 0
        if m > 0:
            # odd reflection (2·edge − mirror) continues ramps and keeps flat colours flat
            big = np.clip(np.pad(rgb, ((m, m), (m, m), (0, 0)), mode="reflect", reflect_type="odd"), 0, 1)
            out = self._restore(big, None, tile, progress)[m:-m, m:-m]  # a view: no copy of a 12 MP image
        else:
            out = self._restore(rgb, cond, tile, progress)
        return keep_tone(out, rgb, self.cfg.tone_sigma) if self.cfg.tone_sigma > 0 else out

    def _restore(self, rgb: np.ndarray, cond: Condition | None, tile: int | None,
                 progress: Callable[[int, int], None] | None) -> np.ndarray:
        t = self.cfg.tile if tile == -1 else tile
        img = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]
        while True:
            try:
                p = self.plan(rgb.shape[0], rgb.shape[1], t)
                if len(p.tiles) == 1:  # its blend weights are all 1
                    out = self._whole(rgb, cond)
                    if progress:
                        progress(1, 1)
                    return out
                return self._run_tiles(img, p, cond, progress)
            except (RuntimeError, torch.cuda.OutOfMemoryError) as e:
                if not _is_oom(e) or self.device.type == "cpu":
                    raise
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                side = t if t is not None else max(rgb.shape[:2])
                if side <= 2 * self.context + self.multiple:
                    raise
                t = side // 2

    def with_config(self, **changes: Any) -> "Runner":
        return Runner(self.model, replace(self.cfg, **changes))


class _Graph:
    """One forward pass of ``model`` recorded as a CUDA graph on static input buffers."""

    def __init__(self, model: nn.Module, x: torch.Tensor, kw: dict[str, Any], device: torch.device, dtype: torch.dtype) -> None:
        self.x = x.clone()
        self.kw = {k: [t.clone() for t in v] if isinstance(v, list) else v.clone() for k, v in kw.items()}
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side), _autocast(device, dtype):  # warm-up off the main stream, as recording wants
            for _ in range(2):
                model(self.x, **self.kw)
        torch.cuda.current_stream(device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        cast = nullcontext() if dtype == torch.float32 else torch.autocast(device.type, dtype=dtype, cache_enabled=False)
        with torch.cuda.graph(self.graph), cast:  # no autocast cache: each replay casts the weights itself
            self.y = model(self.x, **self.kw)

    def __call__(self, x: torch.Tensor, kw: dict[str, Any]) -> torch.Tensor:
        for dst, src in zip([self.x, *_flat(self.kw)], [x, *_flat(kw)]):
            dst.copy_(src)
        self.graph.replay()
        return self.y  # overwritten by the next replay: the caller copies it out


def _flat(kw: dict[str, Any]) -> list[torch.Tensor]:
    """The tensors of a forward pass's keyword arguments (each a tensor or a list of them), in order."""
    return [t for v in kw.values() for t in (v if isinstance(v, list) else [v])]


def _cat(vals: list[Any]) -> Any:
    if isinstance(vals[0], list):
        return [torch.cat([v[i] for v in vals]) for i in range(len(vals[0]))]
    return torch.cat(vals)
