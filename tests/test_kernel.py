"""`--method kernel` and `--kernel FILE`: blind kernel estimation, the non-blind net (the bundled
`hqs`), kernel files and the blur trace, the fallback to the blind net. Images made here."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
import pytest
from PIL import Image
from typer.testing import CliRunner

import deblurcli
from deblurcli.cli.main import app, route
from deblurcli.deconv.estimate import estimate, similarity
from deblurcli.deconv.psf import check_kernel
from deblurcli.errors import InputError
from deblurcli.synth import kernels
from deblurcli.synth.data import dead_leaves
from deblurcli.synth.degrade import convolve

runner = CliRunner()


def _scene(seed: int = 1, size: int = 320) -> np.ndarray:
    """Dead leaves softened like a photo's edges (σ 1 px): on razor-sharp leaves the net gains less than
    Wiener does (docs/models.md)."""
    return cv2.GaussianBlur(dead_leaves(np.random.default_rng(seed), size, n=1500), (0, 0), 1.0)


def _shake(seed: int = 2) -> np.ndarray:
    return kernels.motion_kernel(np.random.default_rng(seed), 21, length=16.0)


def _psnr(a: np.ndarray, b: np.ndarray, m: int = 16) -> float:
    d = a[m:-m, m:-m].astype(np.float64) - b[m:-m, m:-m]
    return float(10 * np.log10(1 / np.mean(d**2)))


def _save(path: Path, img: np.ndarray) -> Path:
    Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path)
    return path


def test_the_blur_trace_of_a_synthetic_shake_is_its_kernel() -> None:
    """Noise-free: the estimated kernel correlates ≥ 0.8 with the true one (after the best shift)."""
    k = _shake()
    est = estimate(np.clip(convolve(_scene(), k), 0, 1))
    s = max(est.kernel.shape[0], k.shape[0]) | 1
    assert similarity(kernels.canvas(est.kernel, s), kernels.canvas(k, s), 6) >= 0.8
    assert est.ok


def test_true_kernel_deconvolution_restores_a_shaken_photo() -> None:
    """The bundled non-blind net given the true kernel: well above the blurry input (σ = 0.01)."""
    sharp, k = _scene(3), _shake(4)
    rng = np.random.default_rng(5)
    blur = np.clip(convolve(sharp, k) + 0.01 * rng.standard_normal(sharp.shape, dtype=np.float32), 0, 1)
    out = deblurcli.restore(blur.astype(np.float32), kernel=k)
    assert out.dtype == np.float32 and out.shape == blur.shape
    assert _psnr(out, sharp) > _psnr(blur, sharp) + 3


def test_kernel_method_returns_the_input_kind_and_improves_the_photo() -> None:
    sharp, k = _scene(6), _shake(7)
    blur = (np.clip(convolve(sharp, k), 0, 1) * 255 + 0.5).astype(np.uint8)
    out = deblurcli.restore(blur, method="kernel")
    assert out.dtype == np.uint8 and out.shape == blur.shape
    assert _psnr(out / 255.0, sharp) > _psnr(blur / 255.0, sharp) + 1.5


@pytest.mark.parametrize("bad, what", [
    (np.ones((3, 3, 5), np.float32), "2-D"),
    (np.array([[0, 1, 0], [1, -1, 1], [0, 1, 0]], np.float32), "negative"),
    (np.zeros((5, 5), np.float32), "all zero"),
    (np.array([[np.nan, 1], [1, 1]], np.float32), "not finite"),
])
def test_a_bad_kernel_file_gets_one_line(tmp_path: Path, bad: np.ndarray, what: str) -> None:
    photo = _save(tmp_path / "p.png", _scene(size=64))
    np.save(tmp_path / "k.npy", bad)
    r = runner.invoke(app, route([str(photo), "--kernel", str(tmp_path / "k.npy")]))
    assert r.exit_code == 1
    text = " ".join(line.strip() for line in r.output.splitlines())  # one message, wrapped at 80 columns
    assert what in text and text.count("error:") == 1 and "Traceback" not in text
    assert not (tmp_path / "p_deblurred.png").exists()


def test_a_kernel_larger_than_the_photo_fails_that_photo_only(tmp_path: Path) -> None:
    small = _save(tmp_path / "a_small.png", _scene(size=24)[:12])  # the kernel is 19×15 once trimmed
    big = _save(tmp_path / "b_big.png", _scene(size=96))
    cv2.imwrite(str(tmp_path / "k.png"), (kernels.canvas(_shake(), 31) * 255 / kernels.canvas(_shake(), 31).max()).astype(np.uint8))
    r = runner.invoke(app, route([str(small), str(big), "--kernel", str(tmp_path / "k.png")]))
    assert r.exit_code == 1, r.output
    assert "larger than the photo" in r.output
    assert not (tmp_path / "a_small_deblurred.png").exists() and (tmp_path / "b_big_deblurred.png").exists()


def test_check_kernel_normalises_and_refuses() -> None:
    k = check_kernel(np.array([[0, 2], [2, 0]], np.uint8))
    assert k.dtype == np.float32 and k.sum() == pytest.approx(1)
    with pytest.raises(InputError, match="larger than the photo"):
        check_kernel(np.ones((9, 9)), (8, 40))


def test_save_kernel_writes_the_trace_and_a_kernel_that_goes_back_in(tmp_path: Path) -> None:
    sharp = _scene(8)
    blur = _save(tmp_path / "shot.png", convolve(sharp, _shake(9)))
    r = runner.invoke(app, route([str(blur), "--method", "kernel", "--save-kernel", "-q"]))
    assert r.exit_code == 0, r.output
    npy, png = tmp_path / "shot_deblurred_kernel.npy", tmp_path / "shot_deblurred_kernel.png"
    k = np.load(npy)
    assert k.ndim == 2 and k.shape[0] % 2 == 1 and k.sum() == pytest.approx(1, abs=1e-4) and (k >= 0).all()
    with Image.open(png) as im:
        assert im.mode == "L" and max(im.size) >= 100
    # the saved kernel deblurs the photo again, non-blind, by the same net (a given kernel's default is
    # hqs-large, so --model hqs); the kernel files are never taken as inputs
    r2 = runner.invoke(app, route([str(blur), "--kernel", str(npy), "--model", "hqs", "-o", str(tmp_path / "again.png"), "-q"]))
    assert r2.exit_code == 0, r2.output
    a = np.asarray(Image.open(tmp_path / "again.png"), np.float32)
    b = np.asarray(Image.open(tmp_path / "shot_deblurred.png"), np.float32)
    assert np.abs(a - b).mean() < 1.0  # the same kernel, the same result (up to 8-bit rounding)
    r3 = runner.invoke(app, route([str(tmp_path), "--method", "kernel", "--skip-existing", "--json", "-q"]))
    assert r3.exit_code == 0, r3.output
    import json

    s = json.loads(r3.stdout)
    assert {Path(f["input"]).name for f in s["files"]} == {"shot.png", "again.png"} or s["skipped"] >= 1
    assert not any("_kernel" in Path(f["input"]).name for f in s["files"])


def test_a_photo_the_size_of_one_region_is_still_checked_on_two() -> None:
    """A photo no larger than one confidence region (384 px at the working scale) had its kernel compared
    with itself: confidence 1 whatever the blur, and 256 px crops of mildly blurred real footage lost
    4 dB to the kernel path. Its two halves are compared now: two shakes disagree, one shake agrees."""
    sharp = cv2.GaussianBlur(dead_leaves(np.random.default_rng(10), 256, n=2500), (0, 0), 1.0)
    one = convolve(sharp, kernels.line_kernel(15, 0.0))
    two = np.concatenate([one[:, :128], convolve(sharp, kernels.line_kernel(15, np.pi / 2))[:, 128:]], 1)
    disagree, agree = estimate(np.clip(two, 0, 1)), estimate(np.clip(one, 0, 1))
    assert disagree.confidence < 0.5 and not disagree.ok
    assert agree.confidence > 0.7 and agree.ok


def test_the_two_regions_are_found_where_the_best_crop_sits_between_two_others() -> None:
    """On a 448×288 photo the 288 px crops start at 0, 72 and 144 px; with the most detail in the middle
    one, no second crop lay half a side from it, and the kernel was compared with itself (confidence 1;
    a third of the foreign shake photos). The best pair half a side apart is taken then."""
    from deblurcli.deconv.estimate import _regions

    g = np.zeros((448, 288), np.float32)
    rng = np.random.default_rng(0)
    g[100:140], g[300:340] = rng.random((40, 288)), rng.random((40, 288))  # only the middle crop holds both bands
    assert sorted(_regions(g, 288)) == [(0, 0), (144, 0)]


def test_blur_that_is_not_one_shake_falls_back_to_the_blind_net() -> None:
    """Two halves shaken in different directions: the two regions' kernels disagree, so the photo goes
    to the blind network, with a warning that says why."""
    sharp = dead_leaves(np.random.default_rng(10), 640, n=4000)[:320]
    left = convolve(sharp, kernels.line_kernel(19, 0.0))
    right = convolve(sharp, kernels.line_kernel(19, np.pi / 2))
    img = np.concatenate([left[:, :320], right[:, 320:]], 1)
    r = deblurcli.load(method="kernel", tone_guard=0)
    from deblurcli.io.images import Photo

    photo = Photo(np.ascontiguousarray(img, np.float32))
    r.restore_photo(photo)
    assert r.last.confidence < 0.5 and r.last.used == "blind"
    assert any("blind network" in w for w in photo.warnings)


def test_save_kernel_needs_a_method_that_estimates_one(tmp_path: Path) -> None:
    photo = _save(tmp_path / "p.png", _scene(size=64))
    for args in (["--method", "blind"], ["--model", "dpa-lite"]):  # naming a blind net means the blind method
        r = runner.invoke(app, route([str(photo), "--save-kernel", *args]))
        assert r.exit_code == 2 and "--method kernel" in r.output, args
    assert not (tmp_path / "p_deblurred.png").exists()


def test_an_already_sharp_photo_is_not_deconvolved() -> None:
    """No shake in the photo: the estimate is a near-delta, so the photo goes to the blind net (which
    leaves sharp photos alone) instead of being deconvolved by a spurious kernel."""
    sharp = dead_leaves(np.random.default_rng(11), 256, n=1500)  # not softened: _scene's σ 1 px is a blur
    rng = np.random.default_rng(12)
    noisy = np.clip(sharp + 0.004 * rng.standard_normal(sharp.shape, dtype=np.float32), 0, 1)
    r = deblurcli.load(method="kernel")
    from deblurcli.io.images import Photo

    photo = Photo(np.ascontiguousarray(noisy, np.float32))
    out = r.restore_photo(photo)
    assert r.last.used == "blind" and any("no camera shake" in w for w in photo.warnings)
    assert _psnr(out, noisy) >= 38


def test_a_psf_field_of_one_kernel_deconvolves_as_that_kernel_does() -> None:
    """``deconv.field.restore_field``: cells cropped with a margin and blended by a partition of unity,
    so a field whose cells all hold one kernel gives what that kernel gives on the whole photo."""
    from deblurcli.deconv.field import restore_field
    from deblurcli.engine.kernel import KernelField
    from deblurcli.engine.runner import RunConfig
    from deblurcli.engine.unrolled import UnrolledRunner
    from deblurcli.models.loader import load_model

    net, _ = load_model("hqs", "deconv")
    runner = UnrolledRunner(net, RunConfig(device="cpu", precision="fp32", tile=None, tone_sigma=0.0))
    rng = np.random.default_rng(3)
    sharp = dead_leaves(rng, 200)
    k = kernels.motion_kernel(rng, 15, length=9.0)
    blur = np.clip(convolve(sharp, k), 0, 1).astype(np.float32)
    whole = runner.restore(blur, KernelField.uniform(kernels.canvas(k, net.cfg.canvas), 0.01))
    field = restore_field(blur, np.broadcast_to(kernels.canvas(k, 15), (3, 3, 15, 15)).copy(), runner, 0.01)
    d = np.abs(field - whole)[20:-20, 20:-20]  # a cell's inverse reaches beyond its margin: a little
    assert d.mean() < 0.5 / 255 and d.max() < 6 / 255
    assert np.abs(field - sharp).mean() < np.abs(blur - sharp).mean()  # and it does deconvolve


def test_the_kernel_step_reads_the_kernel_from_the_sharp_image() -> None:
    """Given the sharp image, the kernel step (ridge, then cut to its support) reads the kernel back from
    noisy gradients (0.97 here); given a wrong latent image (noise), it does not (0.33)."""
    from deblurcli.deconv.estimate import _clean, kernel_step
    from deblurcli.synth.kernels import otf_canvas

    x = _scene(3, 160).mean(-1).astype(np.float32)
    k = _shake(4)
    y = np.fft.irfft2(np.fft.rfft2(x) * np.fft.rfft2(otf_canvas(k, x.shape)), s=x.shape).astype(np.float32)
    y = y + 0.01 * np.random.default_rng(0).standard_normal(y.shape).astype(np.float32)
    s = 31
    mask = np.zeros(x.shape, np.float32)
    mask[s:-s, s:-s] = 1
    est = _clean(kernel_step(x, y, s, 200.0, mask), 0.1)
    assert est.shape == (s, s) and est.min() >= 0 and est.sum() == pytest.approx(1, abs=1e-4)
    assert similarity(est, kernels.canvas(k, s), 3) >= 0.9
    wrong = np.random.default_rng(1).random(x.shape).astype(np.float32)
    assert similarity(_clean(kernel_step(wrong, y, s, 200.0, mask), 0.1), kernels.canvas(k, s), 3) < 0.6
    assert not kernel_step(np.zeros_like(x), y, s, 200.0, mask).any()  # no gradient: no kernel, no NaN


def test_a_kernel_that_fits_poorly_still_gives_a_picture_and_a_broken_prior_still_fails() -> None:
    """A 21 px box kernel and σ 0.001 drive the FFT data step far beyond [0, 1]; the prior stage's output
    (its input plus a correction) followed it, and the output check failed the photo as if the
    checkpoint were corrupt. The stages are now checked for finite values only and the result by
    reblurring it, so this photo is deconvolved, while priors that really are broken (an output pushed
    to white, or weights scrambled) still stop the photo."""
    import copy

    from deblurcli.engine.kernel import KernelField
    from deblurcli.engine.runner import RunConfig
    from deblurcli.engine.unrolled import UnrolledRunner
    from deblurcli.errors import ModelOutputError
    from deblurcli.models.loader import load_model

    hqs, _ = load_model("hqs", "deconv")
    y = np.clip(_scene(5, 160) + 0.03 * np.random.default_rng(0).standard_normal((160, 160, 3)), 0, 1).astype(np.float32)
    box = kernels.canvas(np.full((21, 21), 1 / 441, np.float32), hqs.cfg.canvas)
    cfg = RunConfig(device="cpu", precision="fp32", tile=512, tone_sigma=0)
    out = UnrolledRunner(hqs, cfg).restore(y, KernelField.uniform(box, 0.001))
    assert np.isfinite(out).all() and out.shape == y.shape and 0.05 < out.mean() < 0.95
    shaken = np.clip(convolve(_scene(5, 160), _shake()), 0, 1).astype(np.float32)
    k = KernelField.uniform(kernels.canvas(_shake(), hqs.cfg.canvas), 0.01)
    assert np.isfinite(UnrolledRunner(hqs, cfg).restore(shaken, k)).all()
    flat = (0.6 + 0.01 * np.random.default_rng(1).standard_normal((96, 96, 3))).astype(np.float32)  # a wall
    assert abs(float(UnrolledRunner(hqs, cfg).restore(flat, k).mean()) - 0.6) < 0.01
    g = torch.Generator().manual_seed(0)
    for breakage in ("white", "scrambled"):
        broken = copy.deepcopy(hqs)
        with torch.no_grad():
            if breakage == "white":
                broken.prior.tail.bias.fill_(50.0)
            else:
                for w in broken.prior.parameters():
                    w.add_(torch.randn(w.shape, generator=g) * 0.5)
        with pytest.raises(ModelOutputError, match="does not match the photo"):
            UnrolledRunner(broken, cfg).restore(shaken, k)


def test_an_estimate_that_does_not_explain_the_photo_goes_to_the_blind_net() -> None:
    """When the result deconvolved by an ESTIMATED kernel does not blur back to the photo, the photo is
    the blind net's, with a warning; with the user's own kernel the error names the kernel."""
    from deblurcli.deconv.estimate import KernelEstimate
    from deblurcli.deconv.pipeline import KernelDeconvolver
    from deblurcli.engine.runner import RunConfig
    from deblurcli.engine.unrolled import UnrolledRunner
    from deblurcli.errors import ModelOutputError
    from deblurcli.models.loader import load_model

    hqs, _ = load_model("hqs", "deconv")
    import copy

    broken = copy.deepcopy(hqs)
    with torch.no_grad():
        broken.prior.tail.bias.fill_(50.0)  # stands in for a kernel whose result does not blur back
    y = np.clip(convolve(_scene(5, 160), _shake()), 0, 1).astype(np.float32)
    blind_calls: list[int] = []
    dec = KernelDeconvolver(UnrolledRunner(broken, RunConfig(device="cpu", precision="fp32", tile=512, tone_sigma=0)),
                            lambda rgb, p: (blind_calls.append(1), rgb * 0 + 0.25)[1])
    warnings: list[str] = []
    est = KernelEstimate(kernel=_shake(), confidence=0.95, scale=1.0)
    r = dec.restore(y, estimated=est, warnings=warnings)
    assert r.used == "blind" and blind_calls == [1] and float(r.rgb.mean()) == pytest.approx(0.25)
    assert any("does not explain the photo" in w for w in warnings)
    with pytest.raises(ModelOutputError) as e:
        dec.restore(y, kernel=_shake())
    assert "kernel is this photo's" in (e.value.hint or "")


def test_a_corrupt_non_blind_net_is_not_hidden_behind_the_blind_fallback() -> None:
    """Only a result that does not blur back (``KernelMismatchError``) sends an estimated kernel's photo to
    the blind net; a net that yields non-finite values stops the photo as a corrupt checkpoint does."""
    import copy

    from deblurcli.deconv.estimate import KernelEstimate
    from deblurcli.deconv.pipeline import KernelDeconvolver
    from deblurcli.engine.runner import RunConfig
    from deblurcli.engine.unrolled import UnrolledRunner
    from deblurcli.errors import KernelMismatchError, ModelOutputError
    from deblurcli.models.loader import load_model

    hqs, _ = load_model("hqs", "deconv")
    broken = copy.deepcopy(hqs)
    with torch.no_grad():
        broken.prior.tail.bias.fill_(float("nan"))
    dec = KernelDeconvolver(UnrolledRunner(broken, RunConfig(device="cpu", precision="fp32", tile=512, tone_sigma=0)),
                            lambda rgb, p: rgb)
    y = np.clip(convolve(_scene(5, 160), _shake()), 0, 1).astype(np.float32)
    with pytest.raises(ModelOutputError) as e:
        dec.restore(y, estimated=KernelEstimate(kernel=_shake(), confidence=0.95, scale=1.0))
    assert not isinstance(e.value, KernelMismatchError) and "non-finite" in str(e.value)


@pytest.mark.parametrize("shape", [(1, 1), (3, 128), (27, 300)])
def test_a_photo_too_small_for_a_kernel_goes_to_the_blind_net_and_writes_no_trace(tmp_path: Path, shape) -> None:
    """Once a raw OpenCV assertion failed the photo: too small for even a 7 px kernel, it now gets the
    blind net with a warning that says why, and --save-kernel writes nothing for it."""
    img = np.random.default_rng(0).random((*shape, 3)).astype(np.float32)
    est = estimate(img)
    assert est.failed and not est.ok and "too small" in est.failed
    photo = _save(tmp_path / "tiny.png", img)
    r = runner.invoke(app, route([str(photo), "--method", "kernel", "--save-kernel", "--json"]))
    assert r.exit_code == 0, r.output
    assert "too small to estimate" in r.output
    assert (tmp_path / "tiny_deblurred.png").exists() and not list(tmp_path.glob("*_kernel.*"))


def test_a_small_photo_gets_a_kernel_it_can_hold_and_pure_noise_no_nan() -> None:
    """The kernel looked for is at most half the short side, so every pyramid level has pixels
    to read (on a 96×128 photo of noise the kernel step once divided 0 by 0 and the photo failed)."""
    noise = np.random.default_rng(1).random((96, 128, 3)).astype(np.float32)
    est = estimate(noise)
    assert not est.failed and np.isfinite(est.kernel).all() and est.kernel.sum() == pytest.approx(1, abs=1e-4)
    assert est.kernel.shape[0] <= 96 // 2 + 1
    small = np.clip(convolve(_scene(13, 128), kernels.line_kernel(9, 0.3)), 0, 1)
    est = estimate(small)
    assert est.kernel.shape[0] <= 128 // 2 + 1 and np.isfinite(est.kernel).all()


def test_a_long_panorama_is_not_refused_as_too_small() -> None:
    """A 60×3000 px panorama shrunk by its long side to 1,024 px would be 20 px high, and was once
    refused as "too small" although each of its sides is above 28 px: the working scale keeps the short
    side at 28 px at least."""
    sharp = cv2.GaussianBlur(dead_leaves(np.random.default_rng(3), 3000, n=20000), (0, 0), 1.0)[:60]
    est = estimate(np.clip(convolve(sharp, kernels.line_kernel(9, 0.3)), 0, 1))
    assert not est.failed and est.scale * 60 >= 28
    assert np.isfinite(est.kernel).all() and est.kernel.sum() == pytest.approx(1, abs=1e-4)


def test_a_given_kernel_gets_the_registry_s_deconv_given_net_and_an_estimate_the_deconv_one(tmp_path: Path,
                                                                                          monkeypatch) -> None:
    """`--kernel FILE` (a measured kernel) is deconvolved by the `deconv_given` default (hqs-large, the
    sharper net), `--method kernel` (an estimate) by `deconv`; --model still chooses."""
    from .conftest import TINY, perturb, small_line_kernel, write_registry

    from deblurcli.archs import build
    from deblurcli.models import store

    entries = {}
    for wid, arch, task in (("tiny-hqs-a", "hqs", "deconv"), ("tiny-hqs-b", "hqs", "deconv"), ("tiny-dpa", "dpa", "motion")):
        f = tmp_path / f"{wid}.safetensors"
        store.save(perturb(build(arch, TINY[arch]), scale=0.01), f)
        entries[wid] = (arch, f, task)
    defaults = {"deblur": "tiny-dpa", "deconv": "tiny-hqs-a", "deconv_given": "tiny-hqs-b"}
    monkeypatch.setenv("DEBLUR_WEIGHTS_TOML", str(write_registry(tmp_path, entries, defaults)))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    k = small_line_kernel()
    assert deblurcli.load(kernel=k).model_id == "tiny-hqs-b"
    assert deblurcli.load(method="kernel").model_id == "tiny-hqs-a"
    assert deblurcli.load(kernel=k, model="tiny-hqs-a").model_id == "tiny-hqs-a"


def test_a_kernel_on_a_large_empty_canvas_is_trimmed_without_a_shift_and_a_too_large_one_is_said_once(
        tmp_path: Path) -> None:
    """A measured PSF saved on a 121 px canvas (a 21 px shake in the middle) once failed every photo as
    "larger than the network takes". Its empty border is trimmed as much on each side, so it gives the
    same result as the kernel itself. A kernel really larger than 75 px is one error, before any photo."""
    from deblurcli.deconv.psf import trim_zero_border

    k = kernels.canvas(_shake(), 21)
    wide = np.zeros((121, 121), np.float32)
    wide[40:61, 50:71] = k  # off the middle: only as much border as on the other side may go
    t = trim_zero_border(wide)
    assert max(t.shape) < 121 and np.array_equal(kernels.canvas(t, 121), wide)  # smaller, the centre kept
    photo = _save(tmp_path / "p.png", np.clip(convolve(_scene(5, 160), k), 0, 1))
    out = {}
    for name, kern in (("small", k), ("wide", kernels.canvas(k, 121))):
        np.save(tmp_path / f"{name}.npy", kern)
        r = runner.invoke(app, route([str(photo), "--kernel", str(tmp_path / f"{name}.npy"), "-o", str(tmp_path / f"{name}.png")]))
        assert r.exit_code == 0, r.output
        out[name] = np.asarray(Image.open(tmp_path / f"{name}.png"), np.float32)
    assert np.abs(out["small"] - out["wide"]).max() <= 1
    np.save(tmp_path / "big.npy", kernels.motion_kernel(np.random.default_rng(0), 101, length=85.0))
    r = runner.invoke(app, route([str(photo), str(tmp_path / "p.png"), "--kernel", str(tmp_path / "big.npy")]))
    text = " ".join(line.strip() for line in r.output.splitlines())
    assert r.exit_code == 1 and text.count("error:") == 1 and "largest the network takes is 75" in text


@pytest.mark.parametrize("map_px,used", [(0.5, "blind"), (2.0, "kernel")])
def test_an_unsure_kernel_is_not_used_on_a_photo_the_defocus_map_calls_sharp(map_px: float, used: str) -> None:
    """An already-sharp photo passed as a shake at confidence 0.715 and was wrecked (39.9 → 23.6 dB). A
    kernel under 0.8 on a photo whose defocus map says sharp now goes to the blind net, with a warning."""
    from deblurcli.deconv.estimate import KernelEstimate
    from deblurcli.deconv.pipeline import KernelDeconvolver
    from deblurcli.engine.runner import RunConfig
    from deblurcli.engine.unrolled import UnrolledRunner
    from deblurcli.models.loader import load_model

    net, _ = load_model("hqs", "deconv")
    blind_calls: list[int] = []
    dec = KernelDeconvolver(UnrolledRunner(net, RunConfig(device="cpu", precision="fp32", tile=512, tone_sigma=0)),
                            lambda rgb, p: blind_calls.append(1) or rgb, sharpness=lambda rgb: map_px)
    photo = convolve(_scene(4, 96), _shake(5))
    est = KernelEstimate(_shake(5), 0.75, 1.0)
    assert est.ok
    notes: list[str] = []
    r = dec.restore(photo, None, None, notes, estimated=est)
    assert r.used == used and bool(blind_calls) == (used == "blind")
    assert any("looks sharp" in n for n in notes) == (used == "blind")


def test_the_kernel_looked_for_is_never_wider_than_the_net_takes(tiny_registry: Path) -> None:
    """A deconvolver with a 15 px canvas (the tiny test net) and the default --kernel-size 75: the
    estimate is bounded to 15 px, or every photo with a wider estimate would fail at the net."""
    import deblurcli

    for method in ("kernel", "auto"):
        r = deblurcli.load(method=method, device="cpu")
        assert r.deconvolver.est_cfg.kernel_size == 15, method  # type: ignore[attr-defined]
