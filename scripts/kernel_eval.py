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
(confidence, similarity of the estimate to the true kernel, PSNR of each row). ``--routes`` adds the
blind net, SVBR-Net with the learned map, and `--method auto` (``route.diagnose`` on the same estimate),
with the diagnosis per photo; the set ``sharp`` is CBSD68 itself with σ 0.01 noise (no harm). Every method
is scored after the best integer shift within ±10 px, with its mean-level shift (1/255).

    python scripts/kernel_eval.py --routes --count 4 --sets gopro foreign-motion-srgb foreign-motion-linear foreign-large sharp
    python scripts/kernel_eval.py --sweep-slight docs/logs/slight_*_items.jsonl
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


MIX_KINDS = ("sharp", "shake", "defocus", "defocus-map", "varying")


def _mix_items(split: str, count: int) -> list[dict]:
    """A labelled mix for the diagnosis: each photo sharp, shaken by one of our wide kernels, defocused by
    one disk, defocused by a smooth radius map (0.5-5 px), and shaken differently in its two halves; half
    the photos blurred in linear light, the others on the sRGB values; σ 0.01. ``mix-train`` is BSDS500
    test (the rules were chosen there), ``mix-val`` CBSD68 (never tuned on)."""
    from deblurcli.synth import kernels
    from deblurcli.synth.data import VAL_DIR, data_root, load_images
    from deblurcli.synth.degrade import convolve, defocus_blur, smooth_radius_map, to_gamma, to_linear

    folder = VAL_DIR if split == "mix-val" else "train/bsds500test"
    out = []
    for i, s in enumerate(load_images(data_root(), (folder,))[:count]):
        rng = np.random.default_rng([77, i])
        h, w = s.shape[:2]
        lin = i % 2 == 0
        sp = (lambda fn: to_gamma(fn(to_linear(s)))) if lin else (lambda fn: fn(s))  # noqa: E731
        half = lambda a, b: np.concatenate([a[:, : w // 2], b[:, w // 2 :]], 1)  # noqa: E731
        made = {"sharp": s, "shake": sp(lambda x: convolve(x, kernels.wide_kernel(rng, 41))),
                "defocus": sp(lambda x: convolve(x, kernels.disk_kernel(rng.uniform(1.5, 4.5)))),
                "defocus-map": sp(lambda x: defocus_blur(x, smooth_radius_map(rng, h, w, 0.5, 5.0))),
                "varying": sp(lambda x: half(convolve(x, kernels.line_kernel(15, 0)), convolve(x, kernels.line_kernel(15, 90))))}
        for kind in MIX_KINDS:
            b = np.clip(made[kind] + 0.01 * rng.standard_normal(s.shape, dtype=np.float32), 0, 1)
            out.append({"blur": (np.round(b * 255) / 255).astype(np.float32), "sharp": s, "kind": kind})
    return out


def _sharp_items(count: int) -> list[dict]:
    """CBSD68 photos as they are, with σ 0.01 noise: what every route should leave alone."""
    from deblurcli.synth.data import VAL_DIR, data_root, load_images

    rng = np.random.default_rng(2024)
    out = []
    for img in load_images(data_root(), (VAL_DIR,))[:count]:
        b = np.clip(img + 0.01 * rng.standard_normal(img.shape, dtype=np.float32), 0, 1)
        out.append({"blur": (np.round(b * 255) / 255).astype(np.float32), "sharp": img})
    return out


def _frames_items(split: str, count: int) -> list[dict]:
    """Real mild motion blur as the ``frames`` validation set makes it (256 px crops, windows of 7, 11 or 15
    averaged 240 fps frames at half resolution): ``frames-train`` from the clip's training frames (where
    the kernel path's guard is chosen), ``frames-val`` from its held-out end (the bench's ``frames``);
    ``frames-train-whole`` the training frames whole (640×360)."""
    from deblurcli.synth.data import Frames, data_root

    fr = Frames(data_root(), split="val" if split == "frames-val" else "train")
    rng = np.random.default_rng(4242)
    size = None if split == "frames-train-whole" else 256  # whole: a photo's size, where two regions lie apart
    return [dict(zip(("blur", "sharp"), fr.sample(rng, size, n=int(rng.choice([7, 11, 15]))))) for _ in range(count)]


def sweep_slight(files: list[Path], thresholds: tuple[float, ...] = (0, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 7)) -> None:
    """``--sweep-slight``: from ``--items`` files of ``--routes`` runs, the mean of `--method auto` per file
    and over all photos had a 'shake' under each kernel radius gone to the blind net
    (``route.RouteConfig.min_shake_px``)."""
    rows_all = []
    for f in files:
        rows = [json.loads(line) for line in f.read_text().splitlines()]
        rows_all += rows
        print(f, len(rows), "photos,", sum(r["diagnosis"] == "shake" for r in rows), "shakes")
    for t in thresholds:
        per = [r["blind route"] if r["diagnosis"] == "shake" and r["kernel_radius"] < t else r["--method auto"] for r in rows_all]
        by_set = {s: round(float(np.mean([p for p, r in zip(per, rows_all) if r["set"] == s])), 3)
                  for s in dict.fromkeys(r["set"] for r in rows_all)}
        print(f"min_shake_px {t}: all {np.mean(per):.3f}", by_set)


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
    ap.add_argument("--routes", action="store_true", help="also the blind net, SVBR-Net and --method auto, per photo")
    ap.add_argument("--sweep-slight", type=Path, nargs="+", metavar="ITEMS",
                    help="only print the slight-shake threshold sweep over these --items files (route.RouteConfig)")
    a = ap.parse_args()
    if a.sweep_slight:
        return sweep_slight(a.sweep_slight)
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
    from deblurcli.defocusing.estimate import load_learned_estimator
    from deblurcli.route import sharpness

    # as `deblur --method kernel` runs: a sharp-looking photo keeps an unsure kernel off
    dec = KernelDeconvolver(UnrolledRunner(net, cfg), lambda rgb, p: blind.restore(rgb, progress=p), est_cfg,
                            sharpness=sharpness(load_learned_estimator()))
    rows: dict[str, dict[str, list]] = {}
    extra: dict[str, dict[str, float | None]] = {}
    if a.routes:
        from deblurcli.api import load_defocus
        from deblurcli.deconv.estimate import estimate
        from deblurcli.io.images import Photo
        from deblurcli.route import diagnose, features

        defocuser = load_defocus(device="cpu", tile=512)
        confusion: dict[str, dict[str, int]] = {}

    per_item = []
    for s in a.sets:
        items = (_sharp_items(a.count) if s == "sharp" else _mix_items(s, a.count) if s.startswith("mix-")
                 else _frames_items(s, a.count) if s.startswith("frames-") else foreign.build(s, count=a.count))
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
            est = ests[j] if ests else None
            if a.routes:
                est = est or estimate(it["blur"], est_cfg)
                radius = defocuser.estimate(it["blur"])
                feats = features(est, radius, it["blur"])
                d = diagnose(feats)
                outs = {"blind": blind.restore(it["blur"]), "none": it["blur"],
                        "defocus": defocuser.restore_photo(Photo(it["blur"]), radius)}
                for route, o in outs.items():
                    if route != "none":
                        add(f"{route} route", aligned(o, it["sharp"]))
                rec |= d.as_dict() | {"map_median": round(feats.map_median, 3), "disk_similarity": round(feats.disk_similarity, 3),
                                      "kernel_radius": round(feats.radius, 3), "kind": it.get("kind", s)}
                label = f"{s}/{it['kind']}" if "kind" in it else s
                confusion.setdefault(label, {}).setdefault(d.verdict, 0)
                confusion[label][d.verdict] += 1
            if not a.no_estimate:
                r = dec.restore(it["blur"], estimated=est)
                t_est.append(r.seconds_estimate)
                fallbacks += r.used == "blind"
                add(f"{name}, estimated kernel (--method kernel)", aligned(r.rgb, it["sharp"]))
                if a.routes:
                    auto = r.rgb if d.route == "kernel" else outs[d.route]
                    add("--method auto", aligned(auto, it["sharp"]))
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
    if a.routes:
        lines.append("diagnoses per set: " + json.dumps(confusion))
    text = "\n".join(lines)
    if a.items:
        a.items.write_text("".join(json.dumps(r) + "\n" for r in per_item))
    print(text)
    if a.out:
        a.out.write_text(f"$ python scripts/kernel_eval.py {' '.join(__import__('sys').argv[1:])}\n\n{text}\n\n"
                         + json.dumps(means, indent=1) + "\n")


if __name__ == "__main__":
    main()
