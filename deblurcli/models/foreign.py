"""Other people's checkpoints through spandrel (PyPI ``spandrel``): a ``.pth`` / ``.pt`` / ``.ckpt`` of
NAFNet, Uformer, FFTformer, KBNet, SCUNet, … (Restormer and others through ``spandrel_extra_arches``,
whose licence is non-commercial), or a plain ``.safetensors`` without our metadata. spandrel detects the
architecture from the state dict and builds it; we run it through our engine (tiles, precision, tone
guard, batches, metadata) like our own nets.

Only image-to-image restoration at scale 1 with RGB in and out is taken: an upscaler, an inpainter or
a face restorer is refused with its purpose named. Tiling: every tile gets ``CONTEXT_PX`` of context,
since we have not measured these nets' reach. Global average pooling (NAFNet's channel attention,
KBNet's, Uformer's) is replaced by local pooling over 1.5× the 256 px training crop (NAFNet's TLC,
``LocalAvgPool``): on a whole photo such a net would otherwise pool statistics it never saw in
training. The local window (384 px) is wider than the context, so tiles can still differ from the
whole image where they meet; other global operations (Restormer's transposed attention over channels,
FFTformer's frequency blocks) are left as they are.

spandrel imports torchvision at module level for two architectures we never run (LaMa, an inpainter,
and RestoreFormer, a face restorer). Where torchvision is not installed (the CPU build of torch
2.13 here has no matching wheel), a stand-in module satisfies those imports while spandrel is imported, and raises if used.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import UsageError, WeightsError
from ..hub.registry import WeightsEntry

SUFFIXES = (".pth", ".pt", ".ckpt", ".bin")
CONTEXT_PX = 96
NON_COMMERCIAL = "non-commercial (spandrel_extra_arches)"


@contextmanager
def _torchvision_stand_in() -> Iterator[None]:
    """While spandrel is imported, and only then: a stand-in torchvision where none is installed. It is
    taken out of ``sys.modules`` afterwards, so that nothing else in the process mistakes it for the real
    one (the spandrel modules keep the few names they imported)."""
    if importlib.util.find_spec("torchvision") is not None:
        yield
        return

    def missing(*args: Any, **kwargs: Any) -> None:
        raise ImportError("this architecture needs torchvision (pip install torchvision)")

    class InterpolationMode:
        NEAREST, BILINEAR, BICUBIC = "nearest", "bilinear", "bicubic"

    tv, tr, fn = (types.ModuleType(n) for n in ("torchvision", "torchvision.transforms", "torchvision.transforms.functional"))
    fn.InterpolationMode, fn.rotate, fn.normalize = InterpolationMode, missing, missing  # type: ignore[attr-defined]
    tv.transforms, tr.functional = tr, fn  # type: ignore[attr-defined]
    stand_in = {"torchvision": tv, "torchvision.transforms": tr, "torchvision.transforms.functional": fn}
    sys.modules.update(stand_in)
    try:
        yield
    finally:
        for name, mod in stand_in.items():
            if sys.modules.get(name) is mod:
                del sys.modules[name]


def _spandrel() -> Any:
    with _torchvision_stand_in():
        try:
            import spandrel
        except ImportError as e:
            raise WeightsError("other people's checkpoints are read by spandrel, which is not installed",
                               "pip install --no-deps spandrel==0.4.2 einops (spandrel's torchvision is not needed; on a CUDA machine: pip install 'deblurcli[foreign]')") from e
        try:
            from spandrel_extra_arches import EXTRA_REGISTRY
        except ImportError:
            return spandrel
    spandrel.MAIN_REGISTRY.add(*EXTRA_REGISTRY, ignore_duplicates=True)
    return spandrel


TRAIN_SIDE = 256  # the crop side such nets are trained on (NAFNet, Restormer: 256 px)
TLC_WINDOW = int(1.5 * TRAIN_SIDE)  # NAFNet's TLC (Chu et al. 2022): pool over 1.5× the training crop


class LocalAvgPool(nn.Module):
    """Test-time local converter (TLC) for global average pooling: each pixel gets the mean over the
    ``window``×``window`` box around it (clamped to the image) instead of the whole image's, as in
    training, where the pooled image was a 256 px crop. Equal to global pooling on an image no larger
    than the window. Box sums from an integral image: O(H·W) for any window."""

    def __init__(self, window: int = TLC_WINDOW) -> None:
        super().__init__()
        self.window = window

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h <= self.window and w <= self.window:
            return x.mean(dim=(-2, -1), keepdim=True)
        kh, kw = min(h, self.window), min(w, self.window)
        s = torch.nn.functional.pad(x.float().cumsum(-2).cumsum(-1), (1, 0, 1, 0))
        y0 = (torch.arange(h, device=x.device) - kh // 2).clamp(0, h - kh)  # box top-left, inside the image
        x0 = (torch.arange(w, device=x.device) - kw // 2).clamp(0, w - kw)
        y1, x1 = y0 + kh, x0 + kw
        def at(ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
            return s.index_select(-2, ys).index_select(-1, xs)

        box = at(y1, x1) - at(y0, x1) - at(y1, x0) + at(y0, x0)
        return (box / (kh * kw)).to(x.dtype)


def localise_pooling(net: nn.Module) -> int:
    """Replace every global average pooling (``AdaptiveAvgPool2d(1)``) in ``net`` by ``LocalAvgPool``;
    returns how many were replaced."""
    n = 0
    for name, child in list(net.named_children()):
        size = getattr(child, "output_size", None)
        if isinstance(child, nn.AdaptiveAvgPool2d) and size in (1, (1, 1)):
            setattr(net, name, LocalAvgPool())
            n += 1
        else:
            n += localise_pooling(child)
    return n


class ForeignNet(nn.Module):
    """A spandrel model as our engine runs a net: N×3×H×W in [0, 1] → the same. ``multiple``: the
    side the net needs (the engine pads to it); ``context_px``: the context each tile gets."""

    def __init__(self, descriptor: Any) -> None:
        super().__init__()
        self.net = descriptor.model
        self.architecture = str(descriptor.architecture.name)
        self.multiple = max(1, int(descriptor.size_requirements.multiple_of))
        self.context_px = CONTEXT_PX
        self.local_pools = localise_pooling(self.net)  # NAFNet's channel attention, KBNet's, Uformer's…
        # the engine's channels-last layout is for 4-D weights; a net with 5-D ones (FFTformer) keeps its own
        self.channels_last = all(p.dim() != 5 for p in self.net.parameters())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def load_foreign(path: Path, sha256: str) -> tuple[ForeignNet, WeightsEntry]:
    """The net in ``path`` if spandrel recognises it as an RGB restoration net at scale 1."""
    spandrel = _spandrel()
    try:
        desc = spandrel.ModelLoader(device="cpu").load_from_file(path)
    except spandrel.UnsupportedModelError as e:
        raise WeightsError(f"{path}: neither a deblurcli checkpoint nor an architecture spandrel recognises",
                           "spandrel reads NAFNet, Uformer, FFTformer, KBNet, Restormer… checkpoints") from e
    except Exception as e:  # noqa: BLE001 — a truncated or foreign pickle: this file's fault
        raise WeightsError(f"{path}: cannot be read as a checkpoint ({type(e).__name__}: {e})") from e
    name = str(desc.architecture.name)
    purpose = str(getattr(desc, "purpose", ""))
    if not isinstance(desc, spandrel.ImageModelDescriptor) or purpose != "Restoration" or desc.scale != 1 \
            or desc.input_channels != 3 or desc.output_channels != 3:
        raise UsageError(f"{path}: a {name} for {purpose or 'another task'} (scale {desc.scale}, "
                         f"{desc.input_channels}→{desc.output_channels} channels), not an RGB deblurring network",
                         "pass a restoration checkpoint (NAFNet, Restormer, FFTformer…) trained for deblurring")
    licence = NON_COMMERCIAL if "spandrel_extra_arches" in type(desc.architecture).__module__ else "user file"
    entry = WeightsEntry(id=path.stem, arch=f"spandrel:{desc.architecture.id}", task="motion", sha256=sha256,
                         size=path.stat().st_size, license=licence, file=str(path),
                         description=f"{name} read by spandrel")
    return ForeignNet(desc).eval(), entry
