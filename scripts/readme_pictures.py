"""The README's before/after pictures, from `../shared/data` and the blind net as users run it
(`deblurcli.load(method="blind")`, tone guard on), written small to docs/img/:

    python scripts/readme_pictures.py

- `gopro.jpg`: real motion blur (GOPR0372 frame 118, held out from training): blurred | restored | sharp;
- `shake.jpg`: a CBSD68 photo blurred by a recorded camera-shake kernel (`usrnet12_10_motion`, sRGB,
  σ 0.01): blurred | restored | sharp;
- `kernel.jpg`: the same photo with `--method kernel`: blurred | restored | sharp | the estimated blur
  trace | the true kernel.
Each panel is labelled with its PSNR against the sharp image after the best shift within ±10 px.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import deblurcli  # noqa: E402
from deblurcli.evaluation import aligned  # noqa: E402
from deblurcli.synth import foreign  # noqa: E402
from deblurcli.synth.data import PAIRS_DIR, data_root, read_rgb  # noqa: E402


def _panel(img: np.ndarray, label: str) -> np.ndarray:
    out = np.ascontiguousarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)[..., ::-1])
    cv2.rectangle(out, (0, 0), (out.shape[1], 22), (0, 0, 0), -1)
    cv2.putText(out, label, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def _strip(blur: np.ndarray, sharp: np.ndarray, box: tuple[int, int, int, int], dest: Path, restorer) -> None:  # type: ignore[no-untyped-def]
    out = restorer.restore(blur)
    y0, y1, x0, x1 = box
    pb, po = aligned(blur, sharp)[0], aligned(out, sharp)[0]
    panels = [_panel(blur[y0:y1, x0:x1], f"blurred {pb:.2f} dB"), _panel(out[y0:y1, x0:x1], f"{restorer.model_id} {po:.2f} dB"),
              _panel(sharp[y0:y1, x0:x1], "sharp")]
    gap = np.full((y1 - y0, 6, 3), 255, np.uint8)
    dest.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(dest), np.concatenate([panels[0], gap, panels[1], gap, panels[2]], 1), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"wrote {dest}: blurred {pb:.2f} dB, restored {po:.2f} dB (whole image)")


def _trace(k: np.ndarray, side: int, label: str) -> np.ndarray:
    from deblurcli.deconv.psf import trace_image
    from deblurcli.synth import kernels

    s = max(k.shape[0], 31) | 1
    t = cv2.resize(trace_image(kernels.canvas(k, s)), (side, side), interpolation=cv2.INTER_NEAREST)
    return _panel(np.repeat(t[..., None], 3, 2).astype(np.float32) / 255, label)


def _kernel_strip(item: dict, box: tuple[int, int, int, int], dest: Path) -> None:
    r = deblurcli.load(method="kernel", device="cpu")
    out = r.restore(item["blur"])
    y0, y1, x0, x1 = box
    blur, sharp = item["blur"], item["sharp"]
    pb, po = aligned(blur, sharp)[0], aligned(out, sharp)[0]
    h = y1 - y0
    panels = [_panel(blur[y0:y1, x0:x1], f"blurred {pb:.2f} dB"), _panel(out[y0:y1, x0:x1], f"--method kernel {po:.2f} dB"),
              _panel(sharp[y0:y1, x0:x1], "sharp"), _trace(r.last.kernel, h, f"estimated ({r.last.confidence:.2f})"),
              _trace(item["kernel"], h, "true kernel")]
    gap = np.full((h, 6, 3), 255, np.uint8)
    row = [panels[0]]
    for p in panels[1:]:
        row += [gap, p]
    cv2.imwrite(str(dest), np.concatenate(row, 1), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"wrote {dest}: blurred {pb:.2f} dB, --method kernel {po:.2f} dB (whole image)")


def main() -> None:
    root = data_root()
    r = deblurcli.load(method="blind", device="cpu")
    blur, sharp = read_rgb(root / PAIRS_DIR / "blur" / "000118.jpg"), read_rgb(root / PAIRS_DIR / "sharp" / "000118.jpg")
    _strip(blur, sharp, (200, 440, 420, 740), ROOT / "docs" / "img" / "gopro.jpg", r)
    item = next(it for it in foreign.build("foreign-motion-srgb", root, count=12)[12:24][3:4])
    _strip(item["blur"], item["sharp"], (40, 280, 24, 264), ROOT / "docs" / "img" / "shake.jpg", r)
    _kernel_strip(item, (40, 280, 24, 264), ROOT / "docs" / "img" / "kernel.jpg")


if __name__ == "__main__":
    main()
