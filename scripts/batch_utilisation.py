"""Does a batch keep the CPU busy? Process a folder of N generated photos with `deblur` and sample
the machine's CPU utilisation (/proc/stat) every 0.5 s; print the timeline summary and idle share.

    python scripts/batch_utilisation.py --count 100 --size 1280x720 [--model ID]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def cpu_times() -> tuple[int, int]:
    parts = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts), idle


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--model", default=None)
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    from PIL import Image

    from deblurcli.synth.scenes import scene

    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "in"
        src.mkdir()
        for i in range(a.count):
            Image.fromarray((scene(i % 8, h, w) * 255).astype(np.uint8)).save(src / f"{i:03d}.jpg", quality=92)
        samples: list[float] = []
        stop = threading.Event()

        def sample() -> None:
            t0, i0 = cpu_times()
            while not stop.wait(0.5):
                t1, i1 = cpu_times()
                samples.append(1 - (i1 - i0) / max(t1 - t0, 1))
                t0, i0 = t1, i1

        th = threading.Thread(target=sample, daemon=True)
        cmd = [sys.executable, "-m", "deblurcli.cli", str(src), "-o", str(Path(d) / "out"), "-q", "--json"]
        if a.model:
            cmd += ["--model", a.model]
        start = time.perf_counter()
        th.start()
        subprocess.run(cmd, check=False, capture_output=True)
        stop.set()
        th.join()
        wall = time.perf_counter() - start
    s = np.array(samples[2:]) if len(samples) > 4 else np.array(samples)  # skip model loading
    print(f"{a.count} photos {a.size}: {wall:.1f} s wall, {a.count * w * h / 1e6 / wall:.2f} MP/s")
    print(f"CPU utilisation over the run (0.5 s samples): mean {100 * s.mean():.0f}%, "
          f"10th percentile {100 * np.percentile(s, 10):.0f}%, samples below 50%: {100 * (s < 0.5).mean():.0f}%")


if __name__ == "__main__":
    main()
