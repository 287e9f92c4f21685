"""Build the data shard that a lent GPU trains on (`scripts/gpu_train.sh`): a copy of part of
`../shared/data` in the same layout, under a byte budget (default 40 MiB: with the ~22 MiB working tree it stays under the 64 MiB that travel), so that the training and
validation code reads it unchanged (`DEBLUR_DATA=.devdata/shard`).

    python scripts/make_shards.py                     # -> .devdata/shard, prints its make-up
    python scripts/make_shards.py --dry-run           # what would go in, and the size, writing nothing

What goes in, in this order, until the budget is spent:
  1. validation, whole: the 12 CBSD68 photos and the 6 kernels of the foreign sets, and the 10 held-out
     GOPR0372 pairs (frames 100-129, every third), copied byte for byte so that the GPU's validation
     numbers are the CPU's;
  2. sharp sources, re-encoded as JPEG q90 at most 1024 px on the long side: bsds500test, bsds200,
     then the GOPR0372 training pairs (frames 47-89, verbatim: their blur is real), urban100,
     sunhays80, div2k6. The 240 fps clip is left out: its full-resolution frames (26 MB) would take
     half the budget, and a part of it is too short for the GoPro-strength windows (up to 45 frames);
     `configs/dpa-lite-gpu.toml` trains without it.

Sources, not pre-blurred pairs: the degradations are drawn on the fly on the device machine (its 16
cores run the data workers), so every MiB of photos yields unlimited distinct pairs, where a MiB of
pre-blurred pairs holds a fixed few hundred 256² crops and half of it is the blurred copy.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deblurcli.synth.data import PAIRS_DIR, PAIRS_TRAIN, VAL_DIR, data_root  # noqa: E402
from deblurcli.synth.foreign import GOPRO_VAL, LARGE_KERNELS, MOTION_KERNELS  # noqa: E402

SOURCES = ("train/bsds500test", "train/bsds200", "pairs", "train/urban100", "train/sunhays80", "train/div2k6")


def _jpeg(src: Path, long_side: int = 1024, quality: int = 90) -> bytes:
    img = cv2.imread(str(src), cv2.IMREAD_COLOR)
    if img is None:
        raise OSError(f"cannot read {src}")
    h, w = img.shape[:2]
    s = long_side / max(h, w)
    if s < 1:
        img = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError(f"cannot encode {src}")
    return buf.tobytes()


def plan(data: Path) -> list[tuple[str, str, Path, bool]]:
    """(group, relative destination, source, copy verbatim) in the order they are added."""
    items: list[tuple[str, str, Path, bool]] = []
    for p in sorted((data / VAL_DIR).glob("*"))[:12]:
        items.append(("val", f"{VAL_DIR}/{p.name}", p, True))
    for k in MOTION_KERNELS + LARGE_KERNELS:
        items.append(("val", f"kernels/{k}.npy", data / "kernels" / f"{k}.npy", True))
    for i in GOPRO_VAL:
        for side in ("blur", "sharp"):
            items.append(("val", f"{PAIRS_DIR}/{side}/{i:06d}.jpg", data / PAIRS_DIR / side / f"{i:06d}.jpg", True))
    for group in SOURCES:
        if group == "pairs":
            for i in PAIRS_TRAIN:
                for side in ("blur", "sharp"):  # a pair needs both sides: kept verbatim (the blur is real)
                    items.append(("pairs", f"{PAIRS_DIR}/{side}/{i:06d}.jpg", data / PAIRS_DIR / side / f"{i:06d}.jpg", True))
        else:
            for p in sorted((data / group).glob("*")):
                if p.suffix.lower() in (".jpg", ".jpeg", ".png"):
                    items.append((group, f"{group}/{p.stem}.jpg", p, False))
    return items


def build(data: Path, out: Path | None, budget: int) -> dict[str, tuple[int, int]]:
    """Write (or with ``out`` None, only size) the shard; {group: (files, bytes)}. Validation always goes
    in whole; a source group is cut where the budget ends (a GoPro pair only with both sides)."""
    used, made = 0, {}
    if out is not None and out.exists():
        shutil.rmtree(out)
    pending: list[tuple[str, bytes]] = []
    for group, rel, src, verbatim in plan(data):
        blob = src.read_bytes() if verbatim else _jpeg(src)
        pending.append((rel, blob))
        if group == "pairs" and "/blur/" in rel:
            continue  # wait for the sharp side
        size = sum(len(b) for _, b in pending)
        if group != "val" and used + size > budget:
            pending = []
            continue
        for r, b in pending:
            if out is not None:
                (out / r).parent.mkdir(parents=True, exist_ok=True)
                (out / r).write_bytes(b)
        n, by = made.get(group, (0, 0))
        made[group] = (n + len(pending), by + size)
        used += size
        pending = []
    return made


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None, help="data root (default $DEBLUR_DATA or ../shared/data)")
    ap.add_argument("--out", type=Path, default=ROOT / ".devdata" / "shard")
    ap.add_argument("--budget-mib", type=float, default=40.0, help="the shard's size limit: 64 MiB travel in all and the working tree is ~22 MiB (the bundled weights), so 40 leaves room")
    ap.add_argument("--dry-run", action="store_true", help="print what would go in; write nothing")
    a = ap.parse_args()
    made = build(data_root(str(a.data) if a.data else None), None if a.dry_run else a.out, int(a.budget_mib * 2**20))
    total = sum(b for _, b in made.values())
    for g, (n, b) in made.items():
        print(f"{g:20s} {n:5d} files {b / 2**20:7.2f} MiB")
    print(f"{'total':20s} {sum(n for n, _ in made.values()):5d} files {total / 2**20:7.2f} MiB"
          + ("" if a.dry_run else f" -> {a.out}"))


if __name__ == "__main__":
    main()
