"""Peak memory and time of `deblur` on a 24 MP photo (6000×4000 JPEG) with default tiling, end to end
(decode, restore, encode), measured with /usr/bin/time -v when present, else from the child's rusage.

    python scripts/memory_24mp.py [--model ID] [--size 6000x4000] [--tile auto|none|PX]

The environment is passed on, so e.g. ``THP_MEM_ALLOC_ENABLE=1 python scripts/memory_24mp.py`` times
the CLI with torch's transparent huge pages.
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="6000x4000")
    ap.add_argument("--model", default=None)
    ap.add_argument("--tile", default=None, help="the CLI's --tile (default: its own default)")
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    from PIL import Image

    from deblurcli.synth.scenes import scene

    with tempfile.TemporaryDirectory() as d:
        tile = scene(0, 500, 500)
        img = np.tile(tile, (h // 500 + 1, w // 500 + 1, 1))[:h, :w]
        src = Path(d) / "big.jpg"
        Image.fromarray((img * 255).astype(np.uint8)).save(src, quality=92)
        cmd = [sys.executable, "-m", "deblurcli.cli", str(src), "-q"] + (["--model", a.model] if a.model else []) \
            + (["--tile", a.tile] if a.tile else [])
        t = time.perf_counter()
        if shutil.which("time") or Path("/usr/bin/time").exists():
            r = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
            peak_mb = int(m.group(1)) / 1024 if m else float("nan")
        else:
            subprocess.run(cmd, check=True)
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        wall = time.perf_counter() - t
    tiling = f"tile {a.tile}" if a.tile else "default tiling"
    print(f"{a.model or 'default model'}, {w}x{h} ({w * h / 1e6:.0f} MP) JPEG, {tiling}: {wall:.1f} s end to end "
          f"({wall / (w * h / 1e6):.2f} s/MP), peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
