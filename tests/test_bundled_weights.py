"""Every checkpoint in the shipped weights.toml: resolves, hash matches, arch builds from the metadata,
strict load succeeds, and a forward pass on a small image is finite and changes it sensibly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from deblurcli.archs import ARCHS, RESTORERS
from deblurcli.hub.registry import BUNDLED_TOML, load_registry
from deblurcli.hub.resolve import resolve, sha256_of
from deblurcli.models.loader import load_entry

REG = load_registry(BUNDLED_TOML, user=Path("/nonexistent/weights.toml"))


def test_defaults_name_registered_entries() -> None:
    for cmd, wid in REG.defaults.items():
        assert wid in REG.entries, cmd


@pytest.mark.parametrize("wid", sorted(REG.entries))
def test_entry_resolves_verifies_and_runs(wid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    e = REG.entries[wid]
    p = resolve(e)
    assert sha256_of(p) == e.sha256 and p.stat().st_size == e.size
    model, meta = load_entry(e)
    assert meta["arch"] == e.arch
    assert e.recipe.get("steps") and e.recipe.get("seed") is not None and e.recipe.get("command")
    x = torch.rand(1, 3, 40, 56)
    kw = {"blur_map": torch.full((1, 1, 40, 56), 2.0)} if e.arch == "svbr" else {}
    if e.arch == "hqs":  # a delta kernel: a trained deconvolver leaves the photo nearly as it is
        from deblurcli.synth import kernels

        kw = {"kernel": torch.from_numpy(kernels.delta(model.cfg.canvas))[None, None], "sigma": torch.full((1, 1), 0.01)}
    with torch.no_grad():
        y = model(x, **kw)
    assert torch.isfinite(y).all()
    if ARCHS[e.arch].output == "radius":
        assert y.shape == (1, 1, 40, 56) and (y >= 0.5).all() and y.mean() < 12
    else:
        assert y.shape == x.shape
        assert (y - x).abs().mean() < 0.2  # a trained restorer stays close to its input


def test_bundled_checkpoints_stay_small() -> None:
    total = sum(e.size for e in REG.entries.values() if e.file)
    assert total < 60e6


@pytest.mark.parametrize("wid", sorted(w for w, e in REG.entries.items() if e.arch in RESTORERS))
def test_trained_entry_is_tile_consistent(wid: str) -> None:
    """Trained weights have wider effective receptive fields than random ones: hold them to 2/255 too."""
    import numpy as np

    from deblurcli.engine.runner import BlurMap, Runner, RunConfig

    e = REG.entries[wid]
    model, _ = load_entry(e)
    rng = np.random.default_rng(0)
    import cv2

    img = np.clip(cv2.resize(rng.random((40, 66, 3)).astype(np.float32), (520, 300), interpolation=cv2.INTER_CUBIC), 0, 1)
    cond = BlurMap(np.full((300, 520), 2.5, np.float32)) if e.arch == "svbr" else None
    r = Runner(model, RunConfig(precision="fp32"))
    if e.arch == "hqs":  # a 21 px line kernel; the data steps span the photo, the prior tiles
        from deblurcli.engine.kernel import KernelField
        from deblurcli.engine.unrolled import UnrolledRunner
        from deblurcli.synth import kernels

        cond = KernelField.uniform(kernels.canvas(kernels.line_kernel(21, 0.6), model.cfg.canvas), 0.01)
        r = UnrolledRunner(model, RunConfig(precision="fp32"))  # type: ignore[assignment]
    assert np.abs(r.restore(img, cond, tile=None) - r.restore(img, cond, tile=256)).max() <= 2 / 255


@pytest.mark.skipif("blurmap" not in REG.defaults, reason="no learned blur-map estimator is bundled")
def test_bundled_estimator_recovers_a_step_in_blur() -> None:
    """The trained estimator on a photo-like scene (dead leaves) with known steps in defocus: radii up
    to 3 px within 0.5 px; larger radii are under-estimated (README), but the map stays monotone."""
    import numpy as np

    from deblurcli.defocusing.estimate import estimate_radius_learned
    from deblurcli.synth.data import dead_leaves
    from deblurcli.synth.degrade import defocus_blur, to_gamma, to_linear

    model, _ = load_entry(REG.default_for("blurmap"))
    img = dead_leaves(np.random.default_rng(1), 384, n=2000)
    left = np.arange(384)[None, :] < 192

    def halves(lo: float, hi: float) -> tuple[float, float]:
        rmap = np.where(left, lo, hi).astype(np.float32) * np.ones((384, 1), np.float32)
        est = estimate_radius_learned(to_gamma(defocus_blur(to_linear(img), rmap)), model)
        return float(np.median(est[:, 32:150])), float(np.median(est[:, 242:352]))

    lo, hi = halves(1.0, 3.0)
    assert abs(lo - 1.0) < 0.5 and abs(hi - 3.0) < 0.5
    lo, hi = halves(2.0, 5.0)
    assert abs(lo - 2.0) < 0.5 and hi > lo + 1.0
