"""Images per second of `deblur FOLDER -o OUT` locally and on a local Ray with 1 and 2 workers, on the
same photos (the Ray issue's benchmark; a script, not a timed test).

    python scripts/ray_bench.py --out docs/ray_bench.txt

The photos are CBSD68 validation images enlarged to ``--side`` px and blurred by a 15 px motion kernel
(the time does not depend on the content). Each configuration is the whole command, start-up included
(importing torch, starting Ray and its workers), run as a user runs it; the three are alternated over
``--repeat`` rounds on this shared machine and the best of each is reported. "overhead" is the Ray
run's time minus the local batch's.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from deblurcli.synth import kernels
from deblurcli.synth.data import data_root, load_images
from deblurcli.synth.degrade import convolve


def make_photos(folder: Path, n: int, side: int) -> None:
    src = load_images(data_root(), ("val/cbsd68",))
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for i in range(n):
        img = src[i % len(src)]
        img = cv2.resize(img, (side, side * 3 // 4), interpolation=cv2.INTER_CUBIC)
        k = kernels.motion_kernel(rng, 15, length=10.0)
        blur = np.clip(convolve(img, k), 0, 1)
        cv2.imwrite(str(folder / f"p{i:03d}.jpg"), cv2.cvtColor((blur * 255 + 0.5).astype(np.uint8), cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, 95])


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=50)
    ap.add_argument("--side", type=int, default=640)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    deblur = str(Path(sys.executable).with_name("deblur"))
    configs = {"local batch": [], "ray, 1 worker": ["--ray", "--ray-workers", "1"], "ray, 2 workers": ["--ray", "--ray-workers", "2"]}
    best = {k: float("inf") for k in configs}
    with tempfile.TemporaryDirectory(prefix="ray-bench-") as tmp:
        src = Path(tmp) / "in"
        make_photos(src, a.photos, a.side)
        for _ in range(a.repeat):
            for name, extra in configs.items():
                out = Path(tmp) / "out"
                shutil.rmtree(out, ignore_errors=True)
                best[name] = min(best[name], timed([deblur, str(src), "-o", str(out), "-q", "--device", "cpu", *extra]))
                assert len(list(out.iterdir())) == a.photos
    mp = a.photos * a.side * (a.side * 3 // 4) / 1e6
    lines = [f"# python scripts/ray_bench.py --photos {a.photos} --side {a.side} --repeat {a.repeat}",
             f"# {a.photos} photos of {a.side}x{a.side * 3 // 4} ({mp:.1f} MP in all), default model, CPU, whole commands, best of {a.repeat}",
             f"{'configuration':<16} {'seconds':>8} {'images/s':>9} {'overhead s':>11}"]
    for name, s in best.items():
        lines.append(f"{name:<16} {s:8.1f} {a.photos / s:9.2f} {s - best['local batch']:11.1f}")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if a.out:
        a.out.write_text(text)


if __name__ == "__main__":
    main()
