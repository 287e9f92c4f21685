"""What a command reads is checked before it is used: one validator per kind of input (kernel, blur
map, prior, API array and parameters), the same for the CLI and the API, with one line that names the
file. The cases are generated: every reader × every kind of bad value."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file
from typer.testing import CliRunner

import deblurcli
from deblurcli.cli.main import app, route
from deblurcli.errors import InputError, PriorError, UsageError

runner = CliRunner()


def _line_kernel() -> np.ndarray:
    k = np.zeros((9, 9), np.float32)
    k[4, 2:7] = 1
    return k / k.sum()


# ------------------------------------------------------------------------------------------ kernels

def _bad_kernel(kind: str, folder: Path) -> Path:
    k = _line_kernel()
    if kind == "colour PNG":
        rgb = np.zeros((9, 9, 3), np.uint8)
        rgb[4, 2:7, 2] = 255  # a red line (OpenCV writes BGR) with a blue cross
        rgb[:, 4, 0] = 255
        cv2.imwrite(str(folder / "k.png"), rgb)
        return folder / "k.png"
    bad = {"NaN": np.where(k > 0, np.nan, 0), "negative": k - 0.1, "all zero": k * 0, "3-D": np.stack([k, k * 2, k]),
           "infinite": np.where(k > 0, np.inf, 0)}[kind]
    np.save(folder / "k.npy", bad.astype(np.float32))
    return folder / "k.npy"


@pytest.mark.parametrize("kind", ["colour PNG", "NaN", "negative", "all zero", "3-D", "infinite"])
def test_every_bad_kernel_is_refused_in_one_line_by_the_cli_and_the_api(tmp_path: Path, kind: str) -> None:
    photo = tmp_path / "p.png"
    Image.fromarray(np.full((40, 48, 3), 128, np.uint8)).save(photo)
    k = _bad_kernel(kind, tmp_path)
    r = runner.invoke(app, route([str(photo), "--kernel", str(k), "-q"]))
    assert r.exit_code == 1 and r.output.count("error:") == 1 and str(k) in r.output.replace("\n", ""), r.output
    assert not (tmp_path / "p_deblurred.png").exists()
    with pytest.raises(InputError):
        deblurcli.restore(np.zeros((40, 48, 3), np.uint8), kernel=k)


def test_a_grey_kernel_stored_as_rgb_or_rgba_is_the_grey_kernel(tmp_path: Path) -> None:
    from deblurcli.deconv.psf import read_kernel

    g = (_line_kernel() / _line_kernel().max() * 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "rgb.png"), np.stack([g, g, g], -1))
    cv2.imwrite(str(tmp_path / "rgba.png"), np.stack([g, g, g, np.full_like(g, 255)], -1))
    for name in ("rgb.png", "rgba.png"):
        np.testing.assert_allclose(read_kernel(tmp_path / name), np.full((1, 5), 0.2), atol=1e-6)  # its empty border trimmed


# ---------------------------------------------------------------------------------------- blur maps

@pytest.mark.parametrize("kind", ["NaN", "negative", "wrong size", "colour PNG", "8-bit PNG"])
def test_every_bad_blur_map_is_refused(tmp_path: Path, kind: str) -> None:
    from deblurcli.defocusing.mapfile import read_blur_map

    m = np.full((20, 30), 2.0, np.float32)
    if kind in ("NaN", "negative", "wrong size"):
        m = {"NaN": np.where(m > 0, np.nan, 0), "negative": -m, "wrong size": m[:, :20]}[kind]
        path = tmp_path / "m.npy"
        np.save(path, m.astype(np.float32))
    else:
        path = tmp_path / "m.png"
        a = np.full((20, 30, 3), 2000, np.uint16) if kind == "colour PNG" else np.full((20, 30), 200, np.uint8)
        cv2.imwrite(str(path), a)
    with pytest.raises(InputError, match="--blur-map"):
        read_blur_map(path, (20, 30))


# ------------------------------------------------------------------------------------------- priors

@pytest.fixture(scope="module")
def prior_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from deblurcli.archs import build, hparams_of
    from deblurcli.calibration.prior_file import save_prior
    from deblurcli.hub.registry import WeightsEntry

    from .conftest import TINY

    m = build("dpa", TINY["dpa"])
    levels = [torch.rand(1, 2, 4, 4) - 0.5 for _ in range(3)]
    psfs = np.zeros((3, 3, 5, 5), np.float32)
    psfs[:, :, 1:4, 1:4] = 1 / 9
    entry = WeightsEntry("tiny", "dpa", "motion", "0" * 64, 0, "test")
    return save_prior(tmp_path_factory.mktemp("prior") / "cam.prior", levels, psfs, entry, hparams_of(m), (64, 48), {"name": "cam"})


def test_a_prior_is_written_into_a_folder_that_does_not_exist_yet(prior_file: Path, tmp_path: Path) -> None:
    from deblurcli.calibration.prior_file import read_prior, save_prior
    from deblurcli.hub.registry import WeightsEntry

    p = read_prior(prior_file)
    dest = tmp_path / "new" / "sub" / "cam.prior"
    save_prior(dest, list(p.levels), p.psfs, WeightsEntry("tiny", "dpa", "motion", "0" * 64, 0, "test"),
               json.loads(p.meta["hparams"]), p.sensor, {"name": "cam"})
    assert read_prior(dest).psfs.shape == p.psfs.shape


def _tampered(src: Path, dest: Path, kind: str, keep_hash: bool) -> Path:
    from safetensors import safe_open

    with safe_open(str(src), framework="pt") as f:
        meta = dict(f.metadata())
        t = {k: f.get_tensor(k) for k in f.keys()}
    if kind == "NaN in the PSF field":
        t["psf_field"][1, 1, 2, 2] = float("nan")
    elif kind == "huge value in a level":
        t["level1"][0, 0, 2, 2] = 1e6
    elif kind == "NaN in a level":
        t["level0"][0, 1, 0, 0] = float("nan")
    elif kind == "negative PSF":
        t["psf_field"][0, 0, 2, 2] = -0.5
    elif kind == "PSF not summing to 1":
        t["psf_field"][2, 2] *= 3
    elif kind == "levels of two grids":
        t["level2"] = torch.zeros(1, 2, 3, 3)
    elif kind == "no sensor size":
        meta["sensor_size"] = "[0, 48]"
    if not keep_hash:
        meta.pop("tensors_sha256", None)
    save_file(t, str(dest), metadata=meta)
    return dest


KINDS = ["NaN in the PSF field", "huge value in a level", "NaN in a level", "negative PSF", "PSF not summing to 1",
         "levels of two grids", "no sensor size"]


@pytest.mark.parametrize("keep_hash", [True, False], ids=["hash recorded", "no hash (an older file)"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_corrupt_prior_is_refused_at_load_in_one_line(prior_file: Path, tmp_path: Path, kind: str, keep_hash: bool) -> None:
    from deblurcli.calibration.prior_file import read_prior

    read_prior(prior_file)  # the untouched file loads
    bad = _tampered(prior_file, tmp_path / "bad.prior", kind, keep_hash)
    with pytest.raises(PriorError, match="corrupt") as e:
        read_prior(bad)
    assert str(bad) in str(e.value) and "\n" not in str(e.value) and "calibrate" in e.value.hint


def test_a_prior_with_a_nan_fails_the_cli_before_any_photo(tiny_registry: Path, prior_file: Path, tmp_path: Path) -> None:
    bad = _tampered(prior_file, tmp_path / "bad.prior", "NaN in the PSF field", False)
    Image.fromarray(np.full((48, 64, 3), 100, np.uint8)).save(tmp_path / "p.png")
    r = runner.invoke(app, route([str(tmp_path / "p.png"), "--prior", str(bad), "--json"]))
    assert r.exit_code == 1 and not (tmp_path / "p_deblurred.png").exists()
    assert json.loads(r.stdout)["status"] == "error"


# ------------------------------------------------------------------------------ API arrays, parameters

@pytest.mark.parametrize("kind", ["float NaN", "float above 1", "int32", "int64", "shape 5 channels", "empty", "PIL I above 65535",
                                  "PIL I negative"])
def test_every_bad_api_image_is_refused(kind: str) -> None:
    from deblurcli.api import as_photo

    a = np.full((8, 8, 3), 0.5, np.float32)
    img = {"float NaN": np.where(a > 0, np.nan, a), "float above 1": a * 3, "int32": (a * 70000).astype(np.int32),
           "int64": (a * 100).astype(np.int64), "shape 5 channels": np.zeros((8, 8, 5), np.uint8),
           "empty": np.zeros((0, 8, 3), np.uint8),
           "PIL I above 65535": Image.fromarray(np.full((8, 8), 70000, np.int32), "I"),
           "PIL I negative": Image.fromarray(np.full((8, 8), -5, np.int32), "I")}[kind]
    with pytest.raises(InputError):
        as_photo(img)


def test_a_one_bit_image_comes_back_grey() -> None:
    from deblurcli.api import _from_pil, _give_back

    bw = Image.fromarray((np.indices((16, 16)).sum(0) % 2 * 255).astype(np.uint8)).convert("1")
    photo, kind = _from_pil(bw)
    assert photo.gray
    back = _give_back(photo.with_pixels(np.full((16, 16, 1), 0.25, np.float32)), kind)
    assert back.mode == "L" and np.asarray(back).max() == 64


@pytest.mark.parametrize("strength", [-0.1, 2.0, float("nan"), "0.5"])
@pytest.mark.parametrize("call", ["restore", "defocus", "Restorer.restore"])
def test_strength_has_one_rule_for_every_call(call: str, strength: object) -> None:
    img = np.zeros((16, 16, 3), np.uint8)
    with pytest.raises(UsageError, match="strength"):
        if call == "restore":
            deblurcli.restore(img, strength=strength)  # type: ignore[arg-type]
        elif call == "defocus":
            deblurcli.defocus(img, strength=strength)  # type: ignore[arg-type]
        else:
            deblurcli.load().restore(img, strength=strength)  # type: ignore[arg-type]
