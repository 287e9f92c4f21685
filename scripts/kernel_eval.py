"""The non-blind core and `--method kernel` on blur we did not make, as `deblur` runs them.

    python scripts/kernel_eval.py --out docs/logs/kernel_eval.txt            # the shipped hqs
    python scripts/kernel_eval.py --run runs/hqs --sets foreign-all14   # a training run's best.pt
    python scripts/kernel_eval.py --run runs/hqs-est --ckpt last.pt --cached --items /tmp/items.jsonl

Sets (``synth.foreign``): CBSD68 × all 14 kernels of ``../shared/data/kernels`` in sRGB (the
non-blind bar), the real GoPro pairs (no kernel: estimated rows only), and the foreign motion (sRGB,
linear light) and large-kernel sets. σ = 0.01. Rows: the
blurry input; Wiener deconvolution given the true kernel (``classical.wiener``, in the domain the blur
was made in); the non-blind net given the true kernel; `--method kernel` (kernel estimated from the
photo, the blind net where the estimate is not confident). ``--cached`` reads the estimates from
``deconv.cached`` (made once; the estimator is deterministic), so that checkpoints of the non-blind net
are compared on the same estimated kernels in minutes; ``--items`` writes one JSON line per photo
(confidence, similarity of the estimate to the true kernel, PSNR of each row). Every method is scored after the best
integer shift within ±10 px, with its mean-level shift (1/255).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from deblurcli import archs
from deblurcli.classical import wiener
from deblurcli.deconv.cached import foreign_estimates
from deblurcli.deconv.estimate import EstimateConfig, similarity
from deblurcli.deconv.psf import to_canvas
from deblurcli.deconv.pipeline import KernelDeconvolver
from deblurcli.engine.runner import Runner, RunConfig
from deblurcli.engine.tone import DEFAULT_SIGMA
from deblurcli.engine.unrolled import UnrolledRunner
from deblurcli.evaluation import aligned
from deblurcli.models.loader import load_model
from deblurcli.synth import foreign

SETS = ("foreign-all14", "gopro", "foreign-motion-srgb", "foreign-motion-linear", "foreign-large")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="hqs", help="the non-blind weights id")
    ap.add_argument("--run", type=Path, help="a training run folder instead (its best.pt)")
    ap.add_argument("--ckpt", default="best.pt", help="with --run: which checkpoint of the run")
    ap.add_argument("--cached", action="store_true", help="estimated kernels from the cache (deconv.cached)")
    ap.add_argument("--items", type=Path, help="write per-photo JSON lines here")
    ap.add_argument("--forced", action="store_true",
                    help="a diagnostic row: the estimated kernel used even where it is not confident")
    ap.add_argument("--blind", default="dpa-lite", help="the fallback blind model")
    ap.add_argument("--sets", nargs="+", default=list(SETS))
    ap.add_argument("--count", type=int, default=12, help="CBSD68 photos per kernel")
    ap.add_argument("--no-estimate", action="store_true", help="skip the estimated-kernel row")
    ap.add_argument("--out", type=Path, help="write the table and JSON here")
    a = ap.parse_args()
    torch.set_num_threads(2)
    if a.run:
        st = torch.load(a.run / a.ckpt, map_location="cpu", weights_only=False)
        net = archs.build(st["config"]["arch"], st["config"]["hparams"])
        net.load_state_dict(st["model"])
        name = f"{a.run.name} step {st['step']}"
    else:
        net, entry = load_model(a.model, "deconv")
        name = entry.id
    cfg = RunConfig(device="cpu", precision="auto", tile=512, tone_sigma=DEFAULT_SIGMA)
    blind_net, _ = load_model(a.blind, "deblur")
    blind = Runner(blind_net, RunConfig(device="cpu", precision="auto", tile=512, tone_sigma=DEFAULT_SIGMA, edge_pad=16))
    est_cfg = EstimateConfig()
    dec = KernelDeconvolver(UnrolledRunner(net, cfg), lambda rgb, p: blind.restore(rgb, progress=p), est_cfg)
    rows: dict[str, dict[str, list]] = {}
    extra: dict[str, dict[str, float | None]] = {}

    per_item = []
    for s in a.sets:
        items = foreign.build(s, count=a.count)
        ests = foreign_estimates(s, items, a.count, est_cfg) if a.cached and not a.no_estimate else None
        t_est, fallbacks = [], 0
        for j, it in enumerate(items):
            rec: dict[str, object] = {"set": s, "item": j}

            def add(method: str, v: tuple[float, float, float]) -> None:
                rows.setdefault(method, {}).setdefault(s, []).append(v)
                rec[method] = round(float(v[0]), 3)

            add("blurry input", aligned(it["blur"], it["sharp"]))
            if "kernel" in it:  # the synthetic sets (the real GoPro pairs have none)
                add("Wiener, true kernel", aligned(wiener(it["blur"], it["kernel"], linear=it["linear"]), it["sharp"]))
                add(f"{name}, true kernel", aligned(dec.restore(it["blur"], it["kernel"]).rgb, it["sharp"]))
            if not a.no_estimate:
                r = dec.restore(it["blur"], estimated=ests[j] if ests else None)
                t_est.append(r.seconds_estimate)
                fallbacks += r.used == "blind"
                add(f"{name}, estimated kernel (--method kernel)", aligned(r.rgb, it["sharp"]))
                rec |= {"used": r.used, "confidence": round(float(r.confidence or 0), 3)}
                if a.forced:  # what the refused photos would have got from their estimate
                    f = dec.restore(it["blur"], r.kernel) if r.used == "blind" and r.kernel is not None else r
                    add(f"{name}, estimated kernel always used (diagnostic)", aligned(f.rgb, it["sharp"]))
                if "kernel" in it and r.kernel is not None:
                    rec["similarity"] = round(similarity(to_canvas(it["kernel"], 75), to_canvas(r.kernel, 75)), 3)
            per_item.append(rec)
        extra[s] = {"images": len(items), "fallbacks": fallbacks,
                    "estimate_s_mean": float(np.mean(t_est)) if t_est and not ests else None}
        print(s, {m: round(float(np.mean([v[0] for v in r[s]])), 2) for m, r in rows.items() if s in r}, extra[s], flush=True)
    means = {m: {s: [float(x) for x in np.mean(v, 0)] for s, v in r.items()} for m, r in rows.items()}
    lines = ["| PSNR dB (level /255) | " + " | ".join(a.sets) + " |", "|---|" + "---:|" * len(a.sets)]
    for m, r in means.items():
        lines.append(f"| {m} | " + " | ".join(f"{r[s][0]:.2f} ({r[s][2]:+.1f})" if s in r else "—" for s in a.sets) + " |")
    lines.append("")
    lines.append("estimate: " + json.dumps(extra))
    text = "\n".join(lines)
    if a.items:
        a.items.write_text("".join(json.dumps(r) + "\n" for r in per_item))
    print(text)
    if a.out:
        a.out.write_text(f"$ python scripts/kernel_eval.py {' '.join(__import__('sys').argv[1:])}\n\n{text}\n\n"
                         + json.dumps(means, indent=1) + "\n")


if __name__ == "__main__":
    main()
