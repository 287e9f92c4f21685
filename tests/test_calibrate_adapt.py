"""Adapting the DPA net to a camera module: pair geometry, the fine-tune itself, the prior file and
`deblur --prior` with adapted weights (in the sensor's frame, whatever the photo's orientation)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from deblurcli.archs import build
from deblurcli.calibration.adapt import MIN_NOISE, AdaptConfig, PairMaker, adapt, apply_adapted, blur_window, jpeg_share
from deblurcli.calibration.estimate import estimate_prior
from deblurcli.calibration.prior_file import read_prior
from deblurcli.calibration.psf import estimate_field
from deblurcli.synth.data import dead_leaves
from deblurcli.synth.degrade import LensField, blend_weights, convolve, field_blur, lens_blur, lens_psfs, to_gamma, to_linear

from .conftest import TINY, perturb

FIELD = LensField(base=1.0, growth=2.0, anisotropy=1.0, twist=0.0, grid=4)


def test_blend_weights_window_is_a_slice_of_the_sensor_weights() -> None:
    full = blend_weights(90, 120, 4, 5)
    assert np.allclose(full.sum(0), 1)
    np.testing.assert_array_equal(blend_weights(90, 120, 4, 5, (10, 50, 30, 100)), full[:, 10:50, 30:100])
    # beyond the sensor's edges the edge cells' PSFs hold
    outside = blend_weights(90, 120, 4, 5, (-6, 4, -3, 7))
    np.testing.assert_array_equal(outside[:, 0], outside[:, 6])
    assert np.allclose(outside.sum(0), 1)


def test_field_blur_equals_the_sum_of_whole_image_convolutions() -> None:
    rng = np.random.default_rng(1)
    lin = rng.random((70, 90, 3)).astype(np.float32)
    psfs = lens_psfs(FIELD)
    wts = blend_weights(70, 90, 4, 4)
    brute = sum(convolve(lin, k) * wt[..., None] for k, wt in zip(psfs, wts))
    np.testing.assert_allclose(field_blur(lin, psfs, 4, 4), brute, atol=1e-6)


def test_blur_window_matches_the_sensor_blurred_whole() -> None:
    """A crop blurred where it lies equals that crop of the whole sensor image blurred by the field."""
    img = dead_leaves(np.random.default_rng(2), 160, n=600)[:128, :160]
    whole = to_gamma(lens_blur(to_linear(img), FIELD))
    m, (y0, x0), c = 12, (40, 70), 48
    crop = img[y0 - m : y0 + c + m, x0 - m : x0 + c + m]
    got = blur_window(crop, lens_psfs(FIELD), FIELD.grid, (128, 160), (y0, x0), m)
    np.testing.assert_allclose(got, whole[y0 : y0 + c, x0 : x0 + c], atol=1e-5)


@pytest.fixture(scope="module")
def module() -> tuple[torch.nn.Module, np.ndarray, np.ndarray, list[torch.Tensor]]:
    torch.manual_seed(0)
    model = perturb(build("dpa", TINY["dpa"]), scale=0.01).eval()
    img = dead_leaves(np.random.default_rng(3), 96, n=400)[:64, :96]
    blur = to_gamma(lens_blur(to_linear(img), FIELD))
    psfs = estimate_field(img, blur, grid=4, size=15)
    return model, img, psfs, estimate_prior(model, img, blur)


def test_pairs_carry_the_prior_of_their_place(module) -> None:  # type: ignore[no-untyped-def]
    model, img, psfs, levels = module
    maker = PairMaker(img, psfs, levels, AdaptConfig(batch=3, crop=32, noise=0.02), int(model.multiple), model.level_scale(0), [img[::-1]])
    x, y, prior = maker.batch(np.random.default_rng(0))
    assert x.shape == y.shape == (3, 3, 32, 32)
    assert [p.shape[0] for p in prior] == [3] * len(levels)
    assert [p.shape[-1] for p in prior] == [32 // model.level_scale(i) for i in range(len(levels))]
    assert not torch.equal(x, y)  # blurred (and noisy)


def test_pairs_made_on_a_device_are_the_cpu_pairs_of_the_same_sources(module) -> None:  # type: ignore[no-untyped-def]
    """``batch_on`` (the GPU path; here on the CPU device): the same blur, sharp crops and priors as the
    numpy path for the sources it drew; sensor noise on top when asked for."""
    model, img, psfs, levels = module
    cfg = AdaptConfig(batch=3, crop=32, noise=0.0, real_share=0.0)
    maker = PairMaker(img, psfs, levels, cfg, int(model.multiple), model.level_scale(0), [img[::-1]])
    x, y, prior = maker.batch_on(torch.device("cpu"), np.random.default_rng(5))
    replay, m = np.random.default_rng(5), maker.margin
    for i in range(3):
        y0, x0 = int(replay.integers(0, 64 - 32 + 1)), int(replay.integers(0, 96 - 32 + 1))
        src = maker._source(replay, 32 + 2 * m)
        ref = blur_window(src, maker.psfs, maker.g, (64, 96), (y0, x0), m)
        np.testing.assert_allclose(x[i].permute(1, 2, 0).numpy(), ref, atol=2e-5)
        np.testing.assert_array_equal(y[i].permute(1, 2, 0).numpy(), src[m : m + 32, m : m + 32])
        want = maker.field.for_tile(y0, y0 + 32, x0, x0 + 32, 64, 96, maker.scale)["prior"]
        assert all(torch.equal(p[i], w[0]) for p, w in zip(prior, want))
    noisy = PairMaker(img, psfs, levels, AdaptConfig(batch=3, crop=32, noise=0.05, real_share=0.0), int(model.multiple),
                      model.level_scale(0), [img[::-1]]).batch_on(torch.device("cpu"), np.random.default_rng(5))[0]
    assert 0.002 < float((noisy - x).std()) < 0.1


def test_photos_are_kept_as_8_bits_and_make_the_same_pairs(module, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from deblurcli.calibration.adapt import load_photos

    model, img, psfs, levels = module
    q = np.round(img * 255).astype(np.uint8)
    (tmp_path / "photos").mkdir()
    Image.fromarray(q).save(tmp_path / "photos" / "a.png")
    cfg = AdaptConfig(batch=8, crop=32, noise=0.02)
    photos, skipped = load_photos(tmp_path / "photos", cfg)
    assert not skipped and photos[0].dtype == np.uint8 and np.array_equal(photos[0], q)
    pairs = [PairMaker(img, psfs, levels, cfg, int(model.multiple), model.level_scale(0), [p]).batch(np.random.default_rng(1))
             for p in (photos[0], q.astype(np.float32) / 255, np.zeros_like(img))]
    for a, b, c in zip(pairs[0][:2], pairs[1][:2], pairs[2][:2]):
        assert torch.equal(a, b) and not torch.equal(a, c)  # the same pairs, and the photo was among the sources


def test_real_share_cuts_crops_from_the_calibration_pair_at_their_place(module) -> None:  # type: ignore[no-untyped-def]
    model, img, psfs, levels = module
    blur = lens_blur_of(img)
    cfg = AdaptConfig(batch=4, crop=32, noise=0.02, real_share=1.0)
    maker = PairMaker(img, psfs, levels, cfg, int(model.multiple), model.level_scale(0), [img[::-1]], blur)
    places = []
    for seed in range(3):
        b, s, (y0, x0) = maker.pair(np.random.default_rng(seed))
        assert np.array_equal(b, blur[y0 : y0 + 32, x0 : x0 + 32]) and np.array_equal(s, img[y0 : y0 + 32, x0 : x0 + 32])
        places.append((y0, x0))
    assert len(set(places)) > 1
    synthetic = PairMaker(img, psfs, levels, cfg, int(model.multiple), model.level_scale(0), [img[::-1]])  # no pair given
    b, _, (y0, x0) = synthetic.pair(np.random.default_rng(0))
    assert not np.array_equal(b, blur[y0 : y0 + 32, x0 : x0 + 32])


def test_adapt_changes_a_copy_of_the_dpa_net_only(module) -> None:  # type: ignore[no-untyped-def]
    model, img, psfs, levels = module
    before = {k: v.clone() for k, v in model.state_dict().items()}
    w = adapt(model, img, psfs, levels, AdaptConfig(steps=3, batch=2, crop=32, lr=1e-3, noise=0.02), [img[:, ::-1]])
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())  # the model is untouched
    assert set(w) == set(model.dpa.state_dict())
    assert any(not torch.equal(v, model.dpa.state_dict()[k]) for k, v in w.items())
    again = adapt(model, img, psfs, levels, AdaptConfig(steps=3, batch=2, crop=32, lr=1e-3, noise=0.02), [img[:, ::-1]])
    with pytest.raises(ValueError, match="sharp photos"):
        adapt(model, img, psfs, levels, AdaptConfig(steps=1, noise=0.02), [])
    with pytest.raises(ValueError, match="noise"):
        adapt(model, img, psfs, levels, AdaptConfig(steps=1), [img])
    assert all(torch.equal(v, again[k]) for k, v in w.items())  # seeded: reproducible
    tuned = apply_adapted(build("dpa", TINY["dpa"]), w)
    assert torch.equal(tuned.dpa.state_dict()[next(iter(w))], next(iter(w.values())))


def test_ema_returns_the_moving_average_of_the_steps_weights(module) -> None:  # type: ignore[no-untyped-def]
    model, img, psfs, levels = module
    cfg = AdaptConfig(steps=2, batch=2, crop=32, lr=1e-3, noise=0.02)
    w0 = {k: v.detach().clone() for k, v in model.dpa.state_dict().items()}
    w1 = adapt(model, img, psfs, levels, replace(cfg, steps=1), [img[:, ::-1]])  # step 1 of 2: the same lr, batch
    w2 = adapt(model, img, psfs, levels, cfg, [img[:, ::-1]])
    avg = adapt(model, img, psfs, levels, replace(cfg, ema=0.5), [img[:, ::-1]])
    for k, v in avg.items():
        torch.testing.assert_close(v, 0.25 * w0[k] + 0.25 * w1[k] + 0.5 * w2[k], atol=1e-6, rtol=1e-5)
    assert any(not torch.allclose(v, w2[k]) for k, v in avg.items())


def test_photos_are_read_from_subfolders_too(tmp_path: Path) -> None:
    from deblurcli.calibration.adapt import load_photos

    for i, sub in enumerate(["a", "b/c", ".hidden"]):
        (tmp_path / sub).mkdir(parents=True)
        Image.fromarray(np.full((8, 8, 3), 40 * (i + 1), np.uint8)).save(tmp_path / sub / f"{i}.png")
    photos, _ = load_photos(tmp_path, AdaptConfig())
    assert [int(p[0, 0, 0]) for p in photos] == [40, 80]  # sorted by path, the hidden folder left out
    assert len(load_photos(tmp_path, AdaptConfig(max_photos=1))[0]) == 1


def test_adapt_with_worker_processes_is_reproducible_for_a_given_count(module) -> None:  # type: ignore[no-untyped-def]
    model, img, psfs, levels = module
    cfg = AdaptConfig(steps=3, batch=2, crop=32, lr=1e-3, noise=0.02)
    inline = adapt(model, img, psfs, levels, cfg, [img[:, ::-1]])
    two = adapt(model, img, psfs, levels, cfg, [img[:, ::-1]], workers=2)
    again = adapt(model, img, psfs, levels, cfg, [img[:, ::-1]], workers=2)
    assert all(torch.equal(v, again[k]) for k, v in two.items())
    assert any(not torch.equal(v, inline[k]) for k, v in two.items())  # other pairs than the reference sequence
    assert all(v.device.type == "cpu" for v in two.values())


def _save(a: np.ndarray, path: Path, orientation: int = 1) -> None:
    im = Image.fromarray((a * 255 + 0.5).astype(np.uint8))
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    im.save(path, exif=exif)


def test_calibrate_adapts_and_deblur_uses_it_in_the_sensor_frame(tiny_registry: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from deblurcli.cli.main import app, route

    img = dead_leaves(np.random.default_rng(4), 200, n=1500)[:120, :200]
    img = np.clip(img + 0.05 * np.random.default_rng(5).random(img.shape).astype(np.float32), 0, 1)
    blur = to_gamma(lens_blur(to_linear(img), FIELD))
    _save(img, tmp_path / "sharp.png")
    _save(blur, tmp_path / "blur.png")
    (tmp_path / "photos").mkdir()
    for i in range(2):
        _save(dead_leaves(np.random.default_rng(10 + i), 150, n=800), tmp_path / "photos" / f"p{i}.png")
    (tmp_path / "photos" / "broken.jpg").write_bytes(b"not a photo")  # skipped with a warning
    priors = {}
    for steps in (0, 2):
        priors[steps] = str(tmp_path / f"cam{steps}.prior")
        adapting = ["--adapt-images", str(tmp_path / "photos"), "--adapt-steps", str(steps)] if steps else []
        r = CliRunner().invoke(app, route(["calibrate", str(tmp_path / "sharp.png"), str(tmp_path / "blur.png"), "-o",
                                           priors[steps], "--json", *adapting]))
        assert r.exit_code == 0, r.output
        assert ("broken.jpg" in r.output) == bool(steps)
    assert read_prior(Path(priors[0])).adapted is None
    p2 = read_prior(Path(priors[2]))
    assert p2.adapted and json.loads(p2.meta["adapt"])["steps"] == 2 and json.loads(p2.meta["adapt"])["photos"] == 2
    assert json.loads(p2.meta["adapt"])["jpeg"] == 0  # a PNG shot: a lossless camera, no JPEG artefacts to learn
    assert jpeg_share("JPEG") == jpeg_share("MPO") > 0 == jpeg_share("TIFF")
    (tmp_path / "empty").mkdir()
    for folder, says in (("empty", "no photos"), ("missing", "not a folder")):
        r = CliRunner().invoke(app, route(["calibrate", str(tmp_path / "sharp.png"), str(tmp_path / "blur.png"), "-o",
                                           str(tmp_path / "x.prior"), "--adapt-images", str(tmp_path / folder)]))
        assert r.exit_code == 2 and says in " ".join(r.output.split()) and not (tmp_path / "x.prior").exists()
    # the camera turned: the sensor's pixels are the same, EXIF 6 shows them turned a quarter clockwise
    _save(blur, tmp_path / "turned.png", orientation=6)
    outs = {}
    for steps in (0, 2):
        for name in ("blur.png", "turned.png"):
            dst = tmp_path / f"out{steps}_{name}.png"
            r = CliRunner().invoke(app, route([str(tmp_path / name), "--prior", priors[steps], "-o", str(dst), "-q"]))
            assert r.exit_code == 0, r.output
            outs[steps, name] = np.asarray(Image.open(dst).convert("RGB"), np.float32) / 255
    assert np.abs(outs[2, "blur.png"] - outs[0, "blur.png"]).max() > 1e-3  # the adapted weights were used
    # an adapted prior skips the PSF step unless asked (its net has learned the field)
    for flag in ("--no-psf-step", "--psf-step"):
        dst = tmp_path / f"out2{flag}.png"
        r = CliRunner().invoke(app, route([str(tmp_path / "blur.png"), "--prior", priors[2], flag, "-o", str(dst), "-q"]))
        assert r.exit_code == 0, r.output
        outs[flag] = np.asarray(Image.open(dst).convert("RGB"), np.float32) / 255
    assert np.array_equal(outs["--no-psf-step"], outs[2, "blur.png"])
    assert np.abs(outs["--psf-step"] - outs[2, "blur.png"]).max() > 1e-3
    # the turned photo is restored in the sensor's frame: the unturned result, turned (lossless PNGs: within 2 levels)
    upright = np.rot90(outs[2, "blur.png"], -1)
    assert outs[2, "turned.png"].shape == upright.shape
    assert np.abs(outs[2, "turned.png"] - upright).max() <= 2 / 255


def test_adaptation_noise_is_measured_on_the_blurred_shot() -> None:
    """Known Gaussian noise (linear light) on a blurred chart: the measured RMS is within 15%; the
    sensor setting follows it; an explicit setting is kept; a clean shot gets the floor."""
    from deblurcli.calibration.chart import make_chart
    from deblurcli.calibration.noise import noise_rms

    lin = to_linear(lens_blur_of(make_chart(192, 256, seed=5)))
    rng = np.random.default_rng(0)
    settings = []
    for sigma in (0.004, 0.012):
        noisy = to_gamma(np.clip(lin + sigma * rng.standard_normal(lin.shape, dtype=np.float32), 0, 1))
        rms, mean = noise_rms(noisy)
        assert abs(rms / sigma - 1) < 0.15, (rms, sigma)
        assert abs(noise_rms(noisy, np.full(3, 2.0))[0] / rms - 2) < 1e-6  # in the sharp shot's exposure
        settings.append(AdaptConfig().with_measured_noise(rms, mean).noise)
    assert settings[1] > 2.5 * settings[0]
    assert AdaptConfig(noise=0.05).with_measured_noise(*noise_rms(noisy)).noise == 0.05
    assert AdaptConfig().with_measured_noise(*noise_rms(to_gamma(lin))).noise == MIN_NOISE


def lens_blur_of(img: np.ndarray) -> np.ndarray:
    return to_gamma(lens_blur(to_linear(img), FIELD))


def test_cli_adapt_steps_default_is_the_configs() -> None:
    """`deblur calibrate` and `deblur bench --calibration` adapt as long as AdaptConfig says by default."""
    import inspect

    from deblurcli.cli.bench_cmd import bench
    from deblurcli.cli.bench_quality import run_quality
    from deblurcli.cli.calibrate_cmd import calibrate

    for fn in (calibrate, bench, run_quality):
        assert inspect.signature(fn).parameters["adapt_steps"].default == AdaptConfig().steps
