"""A ready ``Runner`` from the options users give (device, precision, tile, overlap): the one place
where "auto" becomes a tile size, shared by the CLI's photo commands, `deblur bench` and the Python API."""

from __future__ import annotations

from torch import nn

from ..errors import UsageError
from ..io.photo import available_memory
from .runner import Runner, RunConfig
from .tone import DEFAULT_SIGMA

AUTO_TILE_CPU = 1024
BYTES_PER_PX = 700  # fallback for an arch without a measured act_bytes_per_px
TILE_MEMORY_CPU = 768 << 20  # activations of one CPU tile: keeps a 24 MP photo under 3 GB peak
EDGE_PAD = 16  # px mirrored beyond a photo's edges for blind runs (RunConfig.edge_pad)


def parse_tile(value: str | int | None) -> int | None | str:
    """'auto' | 'none' / '0' / None (whole image) | a side ≥ 64."""
    if value is None:
        return None
    v = str(value).strip().lower()
    if v == "auto":
        return "auto"
    if v in ("none", "0", "off"):
        return None
    if not v.isdigit() or int(v) < 64:
        raise UsageError(f"--tile {value!r}: expected 'auto', 'none' or a size ≥ 64")
    return int(v)


def make_runner(model: nn.Module, device: str = "auto", precision: str = "auto", tile: str | int | None = "auto",
                overlap: int | None = None, batch: int = 1, cuda_graph: bool = False,
                notes: list[str] | None = None, tone_sigma: float = DEFAULT_SIGMA) -> Runner:
    """The runner for ``model``; what a user should know about the options goes into ``notes``.
    ``tone_sigma``: the tone guard (``engine.tone``), on by default; 0 turns it off."""
    if tone_sigma < 0:
        raise UsageError(f"--tone-guard {tone_sigma}: must be 0 (off) or more")
    if precision not in ("auto", "fp32", "bf16", "fp16"):
        raise UsageError(f"--precision {precision!r}: expected auto, fp32, bf16 or fp16")
    t = parse_tile(tile)
    if overlap is not None and overlap < 0:
        raise UsageError(f"--overlap {overlap}: must be 0 or more")
    cfg = RunConfig(device=device, precision=precision, tile=None if t is None else AUTO_TILE_CPU,  # type: ignore[arg-type]
                    context=overlap, batch=batch, cuda_graph=cuda_graph, tone_sigma=tone_sigma, edge_pad=EDGE_PAD)
    if getattr(model, "cond", None) == "kernel":  # non-blind: whole-photo data steps, the prior in tiles
        from .unrolled import UnrolledRunner

        runner = UnrolledRunner(model, cfg)  # type: ignore[arg-type]
    else:
        runner = Runner(model, cfg)
    if overlap is not None and overlap < runner.context_default and t is not None and notes is not None:
        notes.append(f"--overlap {overlap} is below this model's measured context ({runner.context_default} px): "
                     "tile seams may show")
    if t == "auto":
        return runner.with_config(tile=auto_tile(runner))
    return runner if t is None else runner.with_config(tile=t)


def auto_tile(runner: Runner) -> int:
    """The largest tile whose activations (the arch's measured ``act_bytes_per_px``,
    ``scripts/tile_memory.py``) fit in a quarter of the free memory, and on CPU in ``TILE_MEMORY_CPU``:
    big tiles waste less compute on context (a 1024 tile with 128 px context per side computes 1.8× its
    core, a 2048 tile 1.3×), so a light model gets bigger tiles than a heavy one. CUDA: up to 4096."""
    import torch

    bpp = getattr(getattr(runner, "model", None), "act_bytes_per_px", BYTES_PER_PX)
    if runner.device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(runner.device)
        budget = free * 0.25
    else:
        budget = min((available_memory() or 4 << 30) * 0.25, TILE_MEMORY_CPU)
    side = int((budget / bpp) ** 0.5)
    return max(256, min(4096, side // 64 * 64))
