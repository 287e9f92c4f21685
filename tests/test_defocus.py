"""Defocus: the estimator recovers a known step in blur; --blur-map validation; --save-map outputs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from deblurcli.cli.main import app, route
from deblurcli.defocusing.estimate import estimate_radius, estimate_radius_learned
from deblurcli.defocusing.mapfile import SCALE, read_blur_map
from deblurcli.errors import InputError
from deblurcli.synth.data import dead_leaves
from deblurcli.synth.degrade import defocus_blur, to_gamma, to_linear


# The σ table is a compromise between disc edges and natural edges: on dead leaves it reads ~10% low,
# which stays within 0.5 px up to ~4 px radii (see defocus/estimate.py).
@pytest.mark.parametrize("lo,hi", [(1.5, 4.0), (1.0, 3.0), (0.75, 2.5)])
def test_estimator_recovers_a_step_in_blur(lo: float, hi: float) -> None:
    img = dead_leaves(np.random.default_rng(1), 384, n=2000)
    rmap = np.where(np.arange(384)[None, :] < 192, lo, hi).astype(np.float32) * np.ones((384, 1), np.float32)
    est = estimate_radius(to_gamma(defocus_blur(to_linear(img), rmap)))
    assert abs(np.median(est[:, 32:150]) - lo) < 0.5
    assert abs(np.median(est[:, 242:352]) - hi) < 0.5


def test_estimator_scales_to_larger_photos() -> None:
    img = dead_leaves(np.random.default_rng(2), 256, n=1500)
    b = to_gamma(defocus_blur(to_linear(img), np.full((256, 256), 2.0, np.float32)))
    big = cv2.resize(b, (1024, 1024), interpolation=cv2.INTER_CUBIC)  # the same blur, 4× the pixels
    assert abs(np.median(estimate_radius(big, work_side=256)) - 8.0) < 2.0


def test_blur_map_validation(tmp_path: Path) -> None:
    good = tmp_path / "m.png"
    cv2.imwrite(str(good), np.full((20, 30), 2500, np.uint16))
    assert np.allclose(read_blur_map(good, (20, 30)), 2.5)
    np.save(tmp_path / "m.npy", np.full((20, 30), 1.25, np.float32))
    assert np.allclose(read_blur_map(tmp_path / "m.npy", (20, 30)), 1.25)
    with pytest.raises(InputError, match="30×20 but the photo is 31×20"):
        read_blur_map(good, (20, 31))
    eight = tmp_path / "m8.png"
    cv2.imwrite(str(eight), np.full((20, 30), 25, np.uint8))
    with pytest.raises(InputError, match="16-bit"):
        read_blur_map(eight, (20, 30))
    np.save(tmp_path / "neg.npy", -np.ones((20, 30), np.float32))
    with pytest.raises(InputError, match="≥ 0"):
        read_blur_map(tmp_path / "neg.npy", (20, 30))


def test_defocus_cli_save_map_and_blur_map(tiny_registry: Path, tmp_path: Path) -> None:
    img = dead_leaves(np.random.default_rng(3), 96, n=600)[:64, :96]
    src = tmp_path / "p.png"
    Image.fromarray((img * 255).astype(np.uint8)).save(src)
    r = CliRunner().invoke(app, route(["defocus", str(src), "--save-map", "-q"]))
    assert r.exit_code == 0, r.output
    m = cv2.imread(str(tmp_path / "p_defocused_blurmap.png"), cv2.IMREAD_UNCHANGED)
    assert m.dtype == np.uint16 and m.shape == (64, 96)
    assert 0.4 <= m.min() / SCALE and m.max() / SCALE <= 12.5
    assert (tmp_path / "p_defocused_blurmap_preview.png").exists()
    np.save(tmp_path / "bad.npy", np.ones((10, 10), np.float32))
    r2 = CliRunner().invoke(app, route(["defocus", str(src), "--blur-map", str(tmp_path / "bad.npy"), "--suffix", "_b"]))
    assert r2.exit_code == 1 and "photo is 96×64" in r2.output
    np.save(tmp_path / "ok.npy", np.full((64, 96), 2.0, np.float32))
    r3 = CliRunner().invoke(app, route(["defocus", str(src), "--blur-map", str(tmp_path / "ok.npy"), "--suffix", "_c", "-q"]))
    assert r3.exit_code == 0, r3.output
    r4 = CliRunner().invoke(app, route(["defocus", str(src), "--model", "tiny-dpa", "--suffix", "_d"]))
    assert r4.exit_code == 2 and "svbr" in r4.output


class _ConstRadius(torch.nn.Module):
    """A stand-in estimator that answers 2 px everywhere on whatever it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full_like(x[:, :1], 2.0) + self.w


def test_learned_estimator_scales_radii_to_the_photo() -> None:
    """The net runs on a work copy ≤ work_side; radii come back in the photo's pixels, photo-sized."""
    img = np.random.default_rng(0).random((300, 400, 3)).astype(np.float32)
    r = estimate_radius_learned(img, _ConstRadius(), work_side=200)
    assert r.shape == (300, 400)
    assert np.allclose(r, 4.0, atol=1e-3)  # 2 px at half size
    assert np.allclose(estimate_radius_learned(img, _ConstRadius(), work_side=1024), 2.0, atol=1e-3)


def test_defocus_cli_estimators(tiny_registry: Path, tmp_path: Path) -> None:
    """Both estimators run; the saved map differs between them; an unknown one is a usage error."""
    img = dead_leaves(np.random.default_rng(4), 96, n=600)[:64, :96]
    src = tmp_path / "p.png"
    Image.fromarray((img * 255).astype(np.uint8)).save(src)
    maps = {}
    for est in ("edge", "learned"):
        r = CliRunner().invoke(app, route(["defocus", str(src), "--estimator", est, "--suffix", f"_{est}", "--save-map", "-q"]))
        assert r.exit_code == 0, r.output
        maps[est] = cv2.imread(str(tmp_path / f"p_{est}_blurmap.png"), cv2.IMREAD_UNCHANGED)
    assert maps["edge"].shape == maps["learned"].shape == (64, 96)
    assert not np.array_equal(maps["edge"], maps["learned"])
    r = CliRunner().invoke(app, route(["defocus", str(src), "--estimator", "oracle", "--suffix", "_x"]))
    assert r.exit_code == 2 and "edge, learned" in r.output


def test_learned_estimator_without_a_registered_model(tiny_registry: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from deblurcli.hub import registry

    real = registry.load_registry

    def without_blurmap() -> registry.Registry:
        r = real()
        return registry.Registry(r.entries, {k: v for k, v in r.defaults.items() if k != "blurmap"})

    monkeypatch.setattr(registry, "load_registry", without_blurmap)
    src = tmp_path / "p.png"
    Image.fromarray(np.full((40, 50, 3), 128, np.uint8)).save(src)
    r = CliRunner().invoke(app, route(["defocus", str(src), "--estimator", "learned"]))
    assert r.exit_code == 2 and "--estimator edge" in r.output
    assert not (tmp_path / "p_defocused.png").exists()


def _photo(seed: int = 0, size: int = 96) -> np.ndarray:
    from deblurcli.synth.data import dead_leaves

    return np.clip(dead_leaves(np.random.default_rng(seed), size, n=300), 0.02, 0.98).astype(np.float32)


def test_the_tikhonov_baseline_deconvolves_in_the_space_the_blur_acted_in() -> None:
    """``classical.defocus_deconvolve`` given the true map: it gains on blur in its own space, and a
    constant map is the one-disk Tikhonov filter."""
    from deblurcli.classical import defocus_deconvolve, wiener_linear
    from deblurcli.evaluation import score
    from deblurcli.synth.degrade import defocus_blur, to_gamma, to_linear
    from deblurcli.synth.kernels import disk_kernel

    sharp = _photo()
    rmap = np.full(sharp.shape[:2], 3.0, np.float32)
    for linear in (True, False):
        blur = to_gamma(defocus_blur(to_linear(sharp), rmap)) if linear else defocus_blur(sharp, rmap)
        out = defocus_deconvolve(blur, rmap, linear=linear)
        assert score(out, sharp)[0] > score(blur, sharp)[0] + 1.0, linear
        wrong = defocus_deconvolve(blur, rmap, linear=not linear)
        assert score(out, sharp)[0] > score(wrong, sharp)[0], linear  # the matching space does better
    one = np.clip(wiener_linear(blur, disk_kernel(3.0), 3e-3, gradient=True), 0, 1)
    np.testing.assert_allclose(defocus_deconvolve(blur, rmap, 3e-3, linear=False), one, atol=1e-5)


def test_defocus_told_the_srgb_space_turns_a_linear_light_core_to_srgb_blur() -> None:
    """``Defocuser(space="srgb")`` gives its core (here the Tikhonov filter for linear light, standing in
    for SVBR-Net, which learned lens blur) the photo's values encoded once more, and decodes the result:
    on blur applied to the sRGB values that does better than the core as it is."""
    from deblurcli.api import Defocuser
    from deblurcli.classical import defocus_deconvolve
    from deblurcli.evaluation import score
    from deblurcli.io.images import Photo
    from deblurcli.synth.degrade import defocus_blur

    class Core:
        def restore(self, rgb, cond=None, progress=None):  # type: ignore[no-untyped-def]
            return defocus_deconvolve(rgb, cond.values, linear=True)

    sharp = _photo(1)
    rmap = np.full(sharp.shape[:2], 2.5, np.float32)
    blur = defocus_blur(sharp, rmap)  # on the sRGB values
    outs = {s: Defocuser(Core(), None, lambda rgb: rmap, s).restore_photo(Photo(blur)) for s in ("linear", "srgb")}  # type: ignore[arg-type]
    assert score(outs["srgb"], sharp)[0] > score(outs["linear"], sharp)[0] + 0.3
    with pytest.raises(Exception, match="--space"):
        Defocuser(Core(), None, lambda rgb: rmap, "gamma")  # type: ignore[arg-type]
