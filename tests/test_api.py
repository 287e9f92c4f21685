"""The Python API: every input kind comes back as the same kind, bit depth, shape and mode; strength 0
gives the input back; EXIF orientation and alpha are handled as the CLI handles them; the README's
example runs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import deblurcli
from deblurcli.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


def _rgb(h: int = 40, w: int = 48, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


def test_import_is_light_and_lists_the_api() -> None:
    assert {"restore", "load", "defocus", "calibrate", "Restorer"} <= set(dir(deblurcli))


@pytest.mark.parametrize("make", [
    lambda: _rgb(),
    lambda: _rgb()[..., 0],
    lambda: _rgb()[..., :1],
    lambda: np.concatenate([_rgb(), np.full((40, 48, 1), 77, np.uint8)], 2),
    lambda: np.stack([_rgb()[..., 0], np.full((40, 48), 9, np.uint8)], 2),
    lambda: (_rgb().astype(np.uint16) * 257),
    lambda: _rgb().astype(np.float32) / 255,
    lambda: _rgb().astype(np.float64) / 255,
], ids=["u8-rgb", "u8-grey2d", "u8-grey3d", "u8-rgba", "u8-greyalpha", "u16-rgb", "f32", "f64"])
def test_arrays_round_trip_in_kind(tiny_registry: Path, make) -> None:  # type: ignore[no-untyped-def]
    a = make()
    r = deblurcli.load(device="cpu")
    out = r.restore(a)
    assert out.dtype == a.dtype and out.shape == a.shape
    assert np.array_equal(r.restore(a, strength=0.0), a) if a.dtype.kind == "u" else np.allclose(r.restore(a, strength=0.0), a, atol=1e-6)
    if a.ndim == 3 and a.shape[2] in (2, 4):
        assert np.array_equal(out[..., -1], a[..., -1])  # alpha untouched
    if a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3:  # not saturated (a uint8 bug made 90% white)
        assert (out == 255).mean() < 0.2


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "I;16"])
def test_pil_round_trip_keeps_the_mode(tiny_registry: Path, mode: str) -> None:
    base = Image.fromarray(_rgb())
    im = base.convert(mode) if mode != "I;16" else Image.fromarray(np.asarray(base.convert("L")).astype(np.uint16) * 257)
    out = deblurcli.load(device="cpu").restore(im)
    assert isinstance(out, Image.Image) and out.size == im.size
    assert out.mode == {"P": "RGB"}.get(mode, mode)


def test_pil_exif_orientation_is_applied_once(tiny_registry: Path, tmp_path: Path) -> None:
    e = Image.Exif()
    e[0x0112] = 6
    f = tmp_path / "o6.png"
    Image.fromarray(_rgb(30, 50)).save(f, exif=e.tobytes())
    out = deblurcli.load(device="cpu").restore(Image.open(f), strength=0.0)
    assert out.size == (30, 50)  # rotated upright: 50 tall, 30 wide
    from_path = deblurcli.load(device="cpu").restore(f, strength=0.0)
    assert from_path.shape == (50, 30, 3) and np.array_equal(np.asarray(out), from_path)


def test_path_gives_the_files_bit_depth(tiny_registry: Path, tmp_path: Path) -> None:
    import cv2

    f = tmp_path / "s16.png"
    cv2.imwrite(str(f), (_rgb().astype(np.uint16) * 257)[..., ::-1])
    out = deblurcli.restore(f, device="cpu")
    assert out.dtype == np.uint16 and out.shape == (40, 48, 3)


def test_bad_inputs_are_input_errors(tiny_registry: Path) -> None:
    r = deblurcli.load(device="cpu")
    for bad in (np.zeros((4, 4, 5), np.uint8), np.full((8, 8, 3), 2.0, np.float32), np.zeros((8, 8), np.int32), [1, 2]):
        with pytest.raises(InputError):
            r.restore(bad)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="empty"):  # was numpy's "zero-size array to reduction operation"
        r.restore(np.zeros((0, 8, 3), np.float32))
    nan = np.full((8, 8, 3), 0.5, np.float32)
    nan[2, 3, 1] = np.nan
    with pytest.raises(InputError, match="NaN") as e:
        r.restore(nan)
    assert "nan_to_num" in e.value.hint


def test_defocus_and_calibrate(tiny_registry: Path, tmp_path: Path) -> None:
    a = _rgb(64, 80)
    out = deblurcli.defocus(a, blur_map=np.full((64, 80), 2.0, np.float32), device="cpu")
    assert out.shape == a.shape and out.dtype == np.uint8
    yy, xx = np.mgrid[0:240, 0:320]
    rng = np.random.default_rng(0)
    sharp = np.clip(np.stack([np.sin(xx / 7.0), np.cos(yy / 5.0), np.sin((xx + yy) / 9.0)], -1) * 0.3 + 0.5
                    + 0.2 * rng.random((240, 320, 3)), 0, 1).astype(np.float32)
    import cv2

    blurred = cv2.GaussianBlur(sharp, (0, 0), 1.2)
    summary = deblurcli.calibrate(sharp, blurred, tmp_path / "cam.prior")
    assert (tmp_path / "cam.prior").exists() and "psf_width_centre_px" in summary
    out = deblurcli.load(prior=tmp_path / "cam.prior", device="cpu").restore(sharp)
    assert out.shape == sharp.shape and out.dtype == np.float32


def test_the_readme_api_example_runs(tiny_registry: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"<!-- api-example -->\s*```python\n(.*?)```", readme, re.S)
    assert code, "README has no <!-- api-example --> block"
    monkeypatch.chdir(tmp_path)
    Image.fromarray(_rgb(60, 80)).save("photo.jpg")
    exec(compile(code.group(1), "README.md", "exec"), {})
    assert Path("photo_sharp.jpg").exists()
    assert Image.open("photo_sharp.jpg").size == (80, 60)
