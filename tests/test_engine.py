"""Tiling planner properties and tiled == untiled for every registered arch."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from deblurcli.archs import RESTORERS, build
from deblurcli.engine.kernel import KernelField
from deblurcli.engine.unrolled import UnrolledRunner
from deblurcli.engine.runner import BlurMap, PriorField, Runner, RunConfig
from deblurcli.synth import kernels
from deblurcli.engine.tiling import plan

from .conftest import perturb, small_line_kernel


@pytest.mark.parametrize("h,w,tile,ctx,mult", [(1000, 700, 256, 48, 8), (37, 53, None, 48, 4), (300, 301, 160, 32, 16), (64, 900, 200, 40, 4)])
def test_weights_are_a_partition_of_unity(h: int, w: int, tile: int | None, ctx: int, mult: int) -> None:
    p = plan(h, w, tile, ctx, mult)
    acc = np.zeros((h, w))
    for t in p.tiles:
        wy, wx = p.weights(t)
        assert wy.shape == (t.y1 - t.y0,) and wx.shape == (t.x1 - t.x0,)
        assert t.y0 % mult == 0 and t.x0 % mult == 0  # every tile sees the whole image's sampling grid
        acc[t.y0 : t.y1, t.x0 : t.x1] += wy[:, None] * wx[None, :]
    assert np.allclose(acc, 1.0, atol=1e-6)


@pytest.mark.parametrize("h,w,tile,ctx,mult", [(3000, 4000, 2240, 128, 8), (3000, 4000, 1152, 80, 4), (800, 800, 256, 64, 8),
                                             (1000, 700, 300, 48, 8), (5000, 300, 1024, 96, 16)])
def test_fewest_tiles_within_the_tile_side(h: int, w: int, tile: int, ctx: int, mult: int) -> None:
    """Edge tiles carry context on one side only, so a 4000 px side splits in two 2128 px tiles (the
    old rule, core = tile - 2·context on every tile, made three); never more tiles than that rule."""
    p = plan(h, w, tile, ctx, mult)
    assert all(max(t.shape) <= tile for t in p.tiles)
    core = max((tile - 2 * ctx) // mult * mult, mult)
    assert len(p.ybounds) - 1 <= -(-h // core) and len(p.xbounds) - 1 <= -(-w // core)
    for bounds, n in ((p.ybounds, h), (p.xbounds, w)):  # one core fewer would not fit
        k = len(bounds) - 2
        if k >= 1:
            step = n / k
            assert step + ctx * (1 if k <= 2 else 2) > tile - mult
    if (h, w, tile) == (3000, 4000, 2240):
        assert len(p.tiles) == 4


def test_kept_pixels_have_context() -> None:
    p = plan(800, 800, 256, 64, 8, ramp=16)
    for t in p.tiles:
        wy, _ = p.weights(t)
        nz = np.nonzero(wy)[0]
        lo, hi = t.y0 + nz[0], t.y0 + nz[-1]
        assert lo - t.y0 >= 64 - 8 or t.y0 == 0
        assert t.y1 - 1 - hi >= 64 - 8 or t.y1 == 800


def _image(h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    base = rng.random((h // 8 + 1, w // 8 + 1, 3)).astype(np.float32)
    import cv2

    img = cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(img + 0.05 * rng.standard_normal((h, w, 3)).astype(np.float32), 0, 1)


@pytest.mark.parametrize("arch", sorted(RESTORERS))
def test_tiled_equals_untiled(arch: str) -> None:
    """The engine's promise: tile 256 vs no tiling differ by at most 2/255 at any pixel."""
    torch.manual_seed(0)
    m = perturb(build(arch), scale=0.03)
    h, w = 300, 520
    img = _image(h, w)
    cond = None
    if arch == "svbr":
        yy, xx = np.mgrid[0:h, 0:w]
        cond = BlurMap((0.5 + 5.5 * xx / w).astype(np.float32))
    elif arch == "dpa":
        g = torch.Generator().manual_seed(1)
        cond = PriorField(tuple(torch.randn(1, m.cfg.prior_channels, 6, 9, generator=g) for _ in range(3)))
    elif arch == "hqs":  # a photo blurred by a 15 px line kernel; the context the kernel pipeline gives it
        from deblurcli.synth.degrade import convolve

        img = convolve(img, small_line_kernel(15))
        cond = KernelField.uniform(kernels.canvas(small_line_kernel(15), m.cfg.canvas), 0.01)
    r = UnrolledRunner(m, RunConfig(precision="fp32")) if arch == "hqs" else Runner(m, RunConfig(precision="fp32"))
    whole = r.restore(img, cond, tile=None)
    tiled = r.restore(img, cond, tile=256)
    assert len(r.plan(h, w, 256).tiles) > 1
    assert np.abs(whole - img).max() > 0.02  # the network does change the image
    assert np.abs(whole - tiled).max() <= 2 / 255


@pytest.mark.parametrize("unshuffle", [1, 2])
def test_blind_dpa_tiled_equals_untiled(unshuffle: int) -> None:
    torch.manual_seed(0)
    m = perturb(build("dpa", {"unshuffle": unshuffle}), scale=0.03)
    r = Runner(m, RunConfig(precision="fp32"))
    img = _image(260, 500)
    whole = r.restore(img, None, tile=None)
    assert np.abs(whole - img).max() > 0.02
    assert np.abs(whole - r.restore(img, None, tile=256)).max() <= 2 / 255


def test_lite_dpa_with_prior_tiled_equals_untiled() -> None:
    """dpa-lite (unshuffle=2): the prior still follows the tiles at every (shifted) level scale."""
    torch.manual_seed(0)
    m = perturb(build("dpa", {"unshuffle": 2}), scale=0.03)
    assert m.multiple == 8 and m.level_scale(2) == 8
    g = torch.Generator().manual_seed(1)
    cond = PriorField(tuple(torch.randn(1, m.cfg.prior_channels, 6, 9, generator=g) for _ in range(3)))
    r = Runner(m, RunConfig(precision="fp32"))
    img = _image(300, 520)
    whole = r.restore(img, cond, tile=None)
    assert np.abs(whole - r.restore(img, None, tile=None)).max() > 1e-3  # the prior is used
    assert np.abs(whole - r.restore(img, cond, tile=256)).max() <= 2 / 255


def test_whole_image_path_on_the_device_matches_the_tile_path() -> None:
    """The one-tile path (layout and padding on the device) gives the tile path's output, with a prior
    too."""
    torch.manual_seed(0)
    m = perturb(build("dpa", {"unshuffle": 2}), scale=0.03)
    g = torch.Generator().manual_seed(1)
    cond = PriorField(tuple(torch.randn(1, m.cfg.prior_channels, 6, 9, generator=g) for _ in range(3)))
    r = Runner(m, RunConfig(precision="fp32", tile=None))
    img = _image(203, 317)  # not a multiple of the net's: padded on the device
    for c in (None, cond):
        ref = r._run_tiles(torch.from_numpy(img).permute(2, 0, 1)[None], r.plan(203, 317, None), c, None)
        out = r._whole(img, c)
        assert out.shape == img.shape and out.flags.c_contiguous
        assert np.abs(out - ref).max() <= 1e-5
    assert np.abs(r._whole(img, cond) - r._whole(img, None)).max() > 1e-3


def test_prior_field_matches_whole_image_resize() -> None:
    """Sampling the prior per tile gives the values bilinear resizing gives the whole image."""
    lev = torch.randn(1, 3, 5, 7)
    pf = PriorField((lev, lev, lev))
    h, w = 64, 96
    whole = pf.for_tile(0, h, 0, w, h, w)["prior"]
    ref = torch.nn.functional.interpolate(lev, size=(h // 2, w // 2), mode="bilinear", align_corners=False)
    assert torch.allclose(whole[1], ref, atol=1e-5)
    part = pf.for_tile(16, 48, 32, 96, h, w)["prior"]
    assert torch.allclose(part[1], whole[1][..., 8:24, 16:48], atol=1e-5)


def test_batchnorm_folding_keeps_the_output_and_leaves_the_model_alone() -> None:
    from deblurcli.engine.fuse import fold_batchnorm

    torch.manual_seed(0)
    m = perturb(build("svbr"), scale=0.03).eval()
    for bn in (x for x in m.modules() if isinstance(x, torch.nn.BatchNorm2d)):  # non-trivial statistics
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.running_var.uniform_(0.5, 2.0)
    folded, n = fold_batchnorm(m)
    assert n > 10 and not any(isinstance(x, torch.nn.BatchNorm2d) for x in folded.modules())
    assert any(isinstance(x, torch.nn.BatchNorm2d) for x in m.modules())  # the caller's model is untouched
    x, bmap = torch.rand(1, 3, 64, 80), torch.full((1, 1, 64, 80), 2.0)
    with torch.no_grad():
        torch.testing.assert_close(folded(x, bmap), m(x, bmap), rtol=1e-4, atol=1e-4)
    lc = build("lcnet")
    assert fold_batchnorm(lc) == (lc, 0)  # nothing to fold: the same object


_REUSE = """
import ctypes, resource, sys
from deblurcli.engine.allocator import keep_freed_memory
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
n = 48 << 20  # above glibc's largest dynamic mmap threshold
tuned = sys.argv[1] == "1" and keep_freed_memory()
p = libc.malloc(n); ctypes.memset(p, 1, n); libc.free(p)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
p = libc.malloc(n); ctypes.memset(p, 1, n); libc.free(p)
print(tuned, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc malloc settings")
def test_freed_memory_is_reused_without_page_faults() -> None:
    """A 48 MB block freed and allocated again: glibc's default unmaps it and faults all 12,288 pages
    in again; with the CLI's settings the second allocation reuses the memory."""
    runs = {}
    for flag in ("0", "1"):
        out = subprocess.run([sys.executable, "-c", _REUSE, flag], capture_output=True, text=True, check=True).stdout.split()
        runs[flag] = (out[0] == "True", int(out[1]))
    assert runs["1"][0] and not runs["0"][0]
    assert runs["1"][1] < 100
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if not (thp.exists() and "[always]" in thp.read_text()):  # with 2 MB pages the default faults 24 times
        assert runs["0"][1] > 10_000


def test_auto_tile_fits_the_memory_budget_and_grows_for_light_models(monkeypatch: pytest.MonkeyPatch) -> None:
    from deblurcli.archs.dpa import DistortionPriorDeblur, DPAConfig
    from deblurcli.engine import setup as photos

    monkeypatch.setattr(photos, "available_memory", lambda: 64 << 30)
    heavy = photos.make_runner(DistortionPriorDeblur(DPAConfig()), "cpu", "auto", "auto", None, 1)
    light = photos.make_runner(DistortionPriorDeblur(DPAConfig(unshuffle=2)), "cpu", "auto", "auto", None, 1)
    for r in (heavy, light):
        t = r.cfg.tile
        assert t % 64 == 0 and t * t * r.model.act_bytes_per_px <= photos.TILE_MEMORY_CPU
        assert (t + 64) ** 2 * r.model.act_bytes_per_px > photos.TILE_MEMORY_CPU  # the largest that fits
    assert light.cfg.tile > heavy.cfg.tile
    monkeypatch.setattr(photos, "available_memory", lambda: 1 << 30)  # little free memory: smaller tiles
    assert photos.make_runner(DistortionPriorDeblur(DPAConfig()), "cpu", "auto", "auto", None, 1).cfg.tile < heavy.cfg.tile


_GC_SPY = """
import gc, sys
import numpy as np
from PIL import Image
from deblurcli.cli import main
from deblurcli.engine import runner, setup
Image.fromarray(np.zeros((40, 48, 3), np.uint8)).save(sys.argv[1])
real_make, real_restore = setup.make_runner, runner.Runner.restore
def make(*a, **k):
    print(gc.isenabled(), flush=True)  # while the model loads
    return real_make(*a, **k)
def restore(self, *a, **k):
    print(gc.isenabled(), gc.get_freeze_count() > 10_000, flush=True)  # once photos are restored
    return real_restore(self, *a, **k)
setup.make_runner, runner.Runner.restore = make, restore
sys.argv = ["deblur", sys.argv[1], "-q", "-o", sys.argv[2]]
main.run()
"""


def test_photo_commands_pause_gc_only_until_the_model_is_loaded(tmp_path: Path) -> None:
    """`deblur photo.jpg` starts with the collector off (importing torch) and turns it back on, with
    the start-up objects frozen, before any photo is restored (the default loads a runner per route;
    a flat photo goes to the blind net)."""
    src, dest = tmp_path / "in.png", tmp_path / "out.png"
    r = subprocess.run([sys.executable, "-c", _GC_SPY, str(src), str(dest)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    said = r.stdout.split()
    assert said[-2:] == ["True", "True"] and len(said) >= 3 and set(said[:-2]) == {"False"}, said
    assert dest.exists()
