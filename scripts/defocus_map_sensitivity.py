"""How SVBR-Net's output depends on the quality of its blur map: the true map, the map scaled up or
down (a biased estimator), smoothed heavily, replaced by its median (one radius for the photo), with
spatially correlated noise, and the edge / learned estimators' maps. This is what decided which
estimator errors to train SVBR-Net against.

    python scripts/defocus_map_sensitivity.py --count 12 > docs/defocus_map_sensitivity.txt
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from deblurcli import evaluation as ev
from deblurcli.cli.bench_quality import _images
from deblurcli.defocusing.estimate import estimate_radius, estimate_radius_learned, load_learned_estimator
from deblurcli.engine.runner import BlurMap, Runner, RunConfig
from deblurcli.hub.registry import load_registry
from deblurcli.models.loader import load_entry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=12)
    args = ap.parse_args()
    reg = load_registry()
    svbr_e = reg.default_for("defocus")
    svbr = Runner(load_entry(svbr_e)[0], RunConfig(precision="auto", tile=512))
    learned = load_learned_estimator(reg) if "blurmap" in reg.defaults else None
    items = ev.degraded_sets(_images(None, True, args.count), ("defocus",), seed=2025)["defocus"]
    rows: dict[str, list[float]] = {}
    for i, it in enumerate(items):
        t = it["radius"]
        noise = cv2.GaussianBlur(np.random.default_rng(i).normal(0, 1, t.shape).astype(np.float32), (0, 0), 6)
        maps = {
            "true map": t,
            "true × 0.8": t * 0.8,
            "true × 1.2": t * 1.2,
            "true, smoothed (σ = 15 px)": cv2.GaussianBlur(t, (0, 0), 15),
            "true median everywhere": np.full_like(t, np.median(t)),
            "true + correlated noise (σ ≈ 0.7 px)": np.clip(t + noise * (0.7 / max(float(noise.std()), 1e-6)), 0.5, 12),
            "edge estimator": estimate_radius(it["blur"]),
        }
        if learned is not None:
            maps["learned estimator"] = estimate_radius_learned(it["blur"], learned)
        rows.setdefault("blurry input", []).append(ev.score(it["blur"], it["sharp"])[0])
        for name, m in maps.items():
            out = svbr.restore(it["blur"], BlurMap(m.astype(np.float32)))
            rows.setdefault(name, []).append(ev.score(out, it["sharp"])[0])
            rows.setdefault(f"{name} |error| px", []).append(float(np.abs(m - t).mean()))
    print(f"SVBR-Net ({svbr_e.id}) on {len(items)} CBSD68 defocus images (seed 2025): PSNR dB, worst image, map error")
    for name in [k for k in rows if not k.endswith("px")]:
        err = rows.get(f"{name} |error| px")
        e = f"{np.mean(err):5.2f} px" if err else "     —"
        print(f"{name:40s} {np.mean(rows[name]):6.2f}  worst {np.min(rows[name]):6.2f}  |error| {e}")


if __name__ == "__main__":
    main()
