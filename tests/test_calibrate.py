"""Calibration: alignment accuracy, PSF-field recovery, prior file round trip and its refusals."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from deblurcli.archs import build, hparams_of
from deblurcli.calibration.align import align
from deblurcli.calibration.chart import make_chart
from deblurcli.calibration.estimate import estimate_prior
from deblurcli.calibration.prior_file import load_prior, orient_grid, read_prior, save_prior, unorient_grid
from deblurcli.calibration.psf import estimate_field, psf_stats, width_errors
from deblurcli.errors import AlignmentError, PriorError
from deblurcli.hub.registry import WeightsEntry
from deblurcli.io.images import Photo
from deblurcli.synth.data import dead_leaves
from deblurcli.synth.degrade import LensField, lens_blur, to_gamma, to_linear

from .conftest import TINY, perturb

FIELD = LensField(base=1.0, growth=2.0, anisotropy=1.0, twist=0.0, grid=6)


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    img = dead_leaves(rng, 640, n=3000)[:480, :640]
    img = np.clip(img + 0.05 * rng.random(img.shape).astype(np.float32), 0, 1)
    return img, to_gamma(lens_blur(to_linear(img), FIELD))


@pytest.mark.parametrize("angle,shift", [(0.0, (2.5, -1.5)), (1.5, (3.3, -2.1)), (-2.0, (-6.0, 4.0))])
def test_alignment_recovers_shift_and_rotation(pair: tuple[np.ndarray, np.ndarray], angle: float, shift: tuple[float, float]) -> None:
    sharp, blur = pair
    M = cv2.getRotationMatrix2D((320, 240), angle, 1.0)
    M[:, 2] += shift
    moved = cv2.warpAffine(blur, M, (640, 480), borderMode=cv2.BORDER_REFLECT)
    _, al = align(sharp, moved * 0.8)  # and darker: exposure is matched too
    pts = np.float32([[x, y] for x in (40, 320, 600) for y in (40, 240, 440)])[None]
    err = np.abs(cv2.perspectiveTransform(pts, al.warp) - cv2.perspectiveTransform(pts, np.vstack([M, [0, 0, 1]])))
    assert err.max() < 0.5
    assert np.allclose(al.gain, 1 / 0.8 ** 2.2, rtol=0.1)


@pytest.mark.parametrize("scale,match", [(0.75, "covers only 56%"), (1.25, "only 64% of the sharp image")])
def test_alignment_refuses_a_chart_that_does_not_match_the_frame(pair: tuple[np.ndarray, np.ndarray], scale: float, match: str) -> None:
    """A chart shot from too far (gray around it) or too close (cut off): the prior would not be in the
    sensor's frame. A small shift between the shots (above) is accepted."""
    sharp, blur = pair
    M = cv2.getRotationMatrix2D((320, 240), 0.0, scale)
    moved = cv2.warpAffine(blur, M, (640, 480), borderMode=cv2.BORDER_CONSTANT, borderValue=(0.5, 0.5, 0.5))
    with pytest.raises(AlignmentError, match=match):
        align(sharp, moved)


def test_alignment_refuses_other_scene_and_other_aspect(pair: tuple[np.ndarray, np.ndarray]) -> None:
    sharp, _ = pair
    other = dead_leaves(np.random.default_rng(9), 640, n=3000)[:480, :640]
    with pytest.raises(AlignmentError):
        align(sharp, other)
    with pytest.raises(AlignmentError, match="aspect"):
        align(sharp, sharp[:, :400])


def test_psf_field_recovers_known_field(pair: tuple[np.ndarray, np.ndarray]) -> None:
    sharp, blur = pair
    psfs = estimate_field(sharp, blur, grid=6)
    for i, j in ((2, 2), (2, 3), (0, 0), (0, 5), (5, 0), (5, 5)):
        u, v = (j + 0.5) / 6 * 2 - 1, (i + 0.5) / 6 * 2 - 1
        got, true = psf_stats(psfs[i, j]).width, psf_stats(FIELD.psf(u, v)).width
        assert abs(got - true) / true < 0.2, (i, j, got, true)
    assert psf_stats(psfs[0, 0]).width > 1.8 * psf_stats(psfs[2, 2]).width


def test_chart_measures_every_cell_of_the_field() -> None:
    chart = make_chart(360, 480, seed=3)
    assert chart.shape == (360, 480, 3) and chart.dtype == np.float32 and chart.min() >= 0 and chart.max() <= 1
    assert np.array_equal(chart, make_chart(360, 480, seed=3)) and not np.array_equal(chart, make_chart(360, 480, seed=4))
    field = LensField(base=0.8, growth=1.5, anisotropy=0.8, twist=0.0, grid=5)
    errs = width_errors(estimate_field(chart, to_gamma(lens_blur(to_linear(chart), field))), field)
    assert errs.max() < 0.2, errs.round(2)
    # A scene whose top third is a smooth sky: the PSF cannot be read there, as from many natural photos.
    scene = chart.copy()
    scene[:120] = np.linspace(0.5, 0.8, 480, dtype=np.float32)[None, :, None]
    errs = width_errors(estimate_field(scene, to_gamma(lens_blur(to_linear(scene), field))), field)
    assert errs[0].min() > 0.5 and errs[2:].max() < 0.2


def _entry(sha: str = "a" * 64) -> WeightsEntry:
    return WeightsEntry(id="tiny", arch="dpa", task="motion", sha256=sha, size=1, license="x")


def test_prior_file_round_trip_and_refusals(pair: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    sharp, blur = pair
    m = perturb(build("dpa", TINY["dpa"])).eval()
    levels = estimate_prior(m, sharp, blur)
    psfs = estimate_field(sharp, blur, grid=4, size=15)
    f = save_prior(tmp_path / "cam.prior", levels, psfs, _entry(), hparams_of(m), (640, 480), {"name": "cam"})
    from deblurcli.io import images

    assert f.stat().st_mode & 0o777 == 0o666 & ~images._UMASK  # not left owner-only
    p = load_prior(f, _entry(), hparams_of(m))
    assert all(torch.equal(a, b) for a, b in zip(p.levels, levels)) and np.array_equal(p.psfs, psfs)
    assert p.sensor == (640, 480) and p.meta["name"] == "cam"
    with pytest.raises(PriorError, match="made with"):
        load_prior(f, _entry("b" * 64))
    with pytest.raises(PriorError, match="arch"):
        load_prior(f, WeightsEntry(id="x", arch="lcnet", task="motion", sha256="a" * 64, size=1, license="x"))
    with pytest.raises(PriorError, match="different version"):
        load_prior(f, _entry(), {**hparams_of(m), "prior_grid": 8})
    trunc = tmp_path / "trunc.prior"
    trunc.write_bytes(f.read_bytes()[:200])
    with pytest.raises(PriorError, match="truncated or corrupt"):
        read_prior(trunc)
    # Aspect ratio: refused unless explicitly allowed; portrait (EXIF 6) photos of the sensor are fine.
    with pytest.raises(PriorError, match="aspect"):
        p.for_photo(Photo(np.zeros((480, 480, 3), np.float32)))
    assert p.for_photo(Photo(np.zeros((480, 480, 3), np.float32)), allow_aspect_mismatch=True)
    portrait = p.for_photo(Photo(np.zeros((640, 480, 3), np.float32), orientation=6))
    assert torch.equal(portrait.levels[0], torch.rot90(levels[0], -1, (-2, -1)))


def _true_field(field: LensField) -> np.ndarray:
    """The field's PSFs as a (g, g, k, k) array, each centred in the largest one's size."""
    from deblurcli.synth.degrade import lens_psfs

    ps = lens_psfs(field)
    k, g = max(p.shape[0] for p in ps), field.grid
    out = np.zeros((g, g, k, k), np.float32)
    for n, p in enumerate(ps):
        o = (k - p.shape[0]) // 2
        out[n // g, n % g, o : o + p.shape[0], o : o + p.shape[0]] = p
    return out


def test_psf_step_keeps_a_consistent_estimate_and_improves_a_blurred_one(pair: tuple[np.ndarray, np.ndarray]) -> None:
    """The step after calibrated deblurring: the true sharp image explains the blurred one, so the step
    leaves it (nearly) as it is; an estimate still blurred is pulled towards the truth; a huge weight
    keeps the estimate."""
    from deblurcli.classical import PSF_STEP_NSR, field_deconvolve

    sharp, blur = pair
    psfs = _true_field(FIELD)

    def psnr(a: np.ndarray) -> float:
        return float(-10 * np.log10(((a - sharp) ** 2).mean()))

    assert psnr(field_deconvolve(blur, psfs, PSF_STEP_NSR, ref=sharp)) > 35 > psnr(blur) + 15
    assert psnr(field_deconvolve(blur, psfs, PSF_STEP_NSR, ref=blur)) > psnr(blur) + 0.5
    assert np.abs(field_deconvolve(blur, psfs, 1e6, ref=blur) - blur).max() < 2e-3


def test_orientation_round_trip() -> None:
    t = torch.arange(12.0).view(1, 1, 3, 4)
    for o in range(1, 9):
        assert torch.equal(unorient_grid(orient_grid(t, o), o), t)


@pytest.mark.parametrize("unshuffle", [1, 2])
def test_tiled_prior_equals_whole(pair: tuple[np.ndarray, np.ndarray], unshuffle: int) -> None:
    sharp, blur = pair
    m = perturb(build("dpa", {**TINY["dpa"], "unshuffle": unshuffle})).eval()
    whole = estimate_prior(m, sharp, blur, tile=10_000)
    tiled = estimate_prior(m, sharp, blur, tile=256)
    for a, b in zip(whole, tiled):
        assert torch.allclose(a, b, atol=1e-5)


def test_calibrate_cli_and_deblur_with_prior(tiny_registry: Path, pair: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from deblurcli.cli.main import app, route

    sharp, blur = pair
    Image.fromarray((sharp * 255).astype(np.uint8)).save(tmp_path / "sharp.png")
    Image.fromarray((blur * 255).astype(np.uint8)).save(tmp_path / "blur.png")
    r = CliRunner().invoke(app, route(["calibrate", str(tmp_path / "sharp.png"), str(tmp_path / "blur.png"), "-o",
                                       str(tmp_path / "cam.prior"), "--preview", str(tmp_path / "prev.png"), "--json"]))
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["psf_width_corners_px"] > summary["psf_width_centre_px"]
    assert 0 < summary["noise_rms_linear"] < 0.005  # a noiseless pair: 8-bit rounding only
    assert (tmp_path / "prev.png").exists()
    runs = {"dpa": ["--method", "dpa"], "psf": ["--method", "psf"], "net": ["--no-psf-step"]}
    for key, flags in runs.items():
        r2 = CliRunner().invoke(app, route([str(tmp_path / "blur.png"), "--prior", str(tmp_path / "cam.prior"), *flags,
                                            "--suffix", f"_{key}", "-q"]))
        assert r2.exit_code == 0, r2.output
    outs = {k: np.asarray(Image.open(tmp_path / f"blur_{k}.png"), np.float32) for k in runs}
    assert np.abs(outs["dpa"] - outs["net"]).max() > 2  # the PSF step ran by default, and --no-psf-step skips it
    # a photo of another shape is refused with a clear message
    Image.fromarray((sharp[:, :480] * 255).astype(np.uint8)).save(tmp_path / "square.png")
    r3 = CliRunner().invoke(app, route([str(tmp_path / "square.png"), "--prior", str(tmp_path / "cam.prior")]))
    assert r3.exit_code == 1 and "aspect" in r3.output


def test_deblur_with_prior_uses_the_model_it_was_made_with(tiny_registry: Path, pair: tuple[np.ndarray, np.ndarray],
                                                           tmp_path: Path) -> None:
    """A prior calibrated with a non-default model works without --model; another model is refused."""
    from typer.testing import CliRunner

    from deblurcli.cli.main import app, route
    from deblurcli.models import store

    from .conftest import write_registry

    folder = tiny_registry.parent
    other = folder / "tiny-dpa-b.safetensors"
    store.save(perturb(build("dpa", TINY["dpa"]), seed=3, scale=0.01), other)
    entries = {f.stem: (f.stem.split("-")[1], f, "motion") for f in folder.glob("tiny-*.safetensors")}
    write_registry(folder, entries, {"deblur": "tiny-dpa", "calibrate": "tiny-dpa", "defocus": "tiny-svbr",
                                     "blurmap": "tiny-blurmap"})
    sharp, blur = (np.ascontiguousarray(a[:240, :320]) for a in pair)
    Image.fromarray((sharp * 255).astype(np.uint8)).save(tmp_path / "sharp.png")
    Image.fromarray((blur * 255).astype(np.uint8)).save(tmp_path / "blur.png")
    cam = str(tmp_path / "cam.prior")
    r = CliRunner().invoke(app, route(["calibrate", str(tmp_path / "sharp.png"), str(tmp_path / "blur.png"), "-o", cam,
                                       "--model", "tiny-dpa-b", "--json"]))
    assert r.exit_code == 0, r.output
    assert read_prior(Path(cam)).meta["model_id"] == "tiny-dpa-b"
    r2 = CliRunner().invoke(app, route([str(tmp_path / "blur.png"), "--prior", cam, "-q"]))
    assert r2.exit_code == 0, r2.output
    assert (tmp_path / "blur_deblurred.png").is_file()
    r3 = CliRunner().invoke(app, route([str(tmp_path / "blur.png"), "--prior", cam, "--model", "tiny-dpa", "--overwrite"]))
    assert r3.exit_code == 1 and "tiny-dpa-b" in r3.output


@pytest.mark.parametrize("space", ["linear", "srgb"])
def test_calibration_reads_the_space_the_pair_was_blurred_in(pair: tuple[np.ndarray, np.ndarray], space: str) -> None:
    """A lens blurs linear light; much processed data is blurred on the sRGB values. The pair says which:
    the field fitted in each space on half of every cell predicts the other half better in the right one."""
    from deblurcli.calibration.psf import blur_space, estimate_field

    sharp, _ = pair
    blur = to_gamma(lens_blur(to_linear(sharp), FIELD)) if space == "linear" else np.clip(lens_blur(sharp, FIELD), 0, 1)
    found, err = blur_space(sharp, blur)
    assert found == space and err[space] < 0.7 * err["linear" if space == "srgb" else "srgb"], err
    psfs = estimate_field(sharp, blur, space=space)  # fitted in its own space, the field reads the lens
    assert float(np.abs(psfs.sum((2, 3)) - 1).max()) < 1e-4


def test_a_prior_keeps_its_space_and_an_older_one_is_linear(pair: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    from deblurcli.classical import field_deconvolve

    m = perturb(build("dpa", TINY["dpa"]))
    levels = [torch.zeros(1, 2, 4, 4) for _ in range(3)]
    psfs = np.zeros((2, 2, 5, 5), np.float32)
    psfs[:, :, 2, 1:4] = 1 / 3
    old = save_prior(tmp_path / "old.prior", levels, psfs, _entry(), hparams_of(m), (64, 48), {"name": "old"})
    new = save_prior(tmp_path / "new.prior", levels, psfs, _entry(), hparams_of(m), (64, 48), {"name": "new", "blur_space": "srgb"})
    assert read_prior(old).space == "linear" and read_prior(new).space == "srgb"
    bad = save_prior(tmp_path / "bad.prior", levels, psfs, _entry(), hparams_of(m), (64, 48), {"name": "bad", "blur_space": "log"})
    with pytest.raises(PriorError, match="blur space"):
        read_prior(bad)
    # deconvolving in the space the blur was made in undoes it better
    sharp = pair[0][:96, :128]
    blurred = np.clip(lens_blur(sharp, LensField(base=1.2, growth=0.0, anisotropy=1.0, twist=0.0, grid=2)), 0, 1)
    field = np.stack([np.stack([LensField(base=1.2, growth=0.0, anisotropy=1.0, twist=0.0, grid=2).psf(0.0, 0.0)] * 2)] * 2)
    err = {lin: float(np.abs(field_deconvolve(blurred, field, 1e-3, linear=lin) - sharp)[16:-16, 16:-16].mean()) for lin in (True, False)}
    assert err[False] < err[True]
