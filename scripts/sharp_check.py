"""Does no harm: the already-sharp CBSD68 set (24 centre crops of 256², σ 0.01 noise, as in
`deblur bench --quality --val`), restored as users run the models (tone guard and mirrored margin on),
scored against the truth and against the input itself (the bar: ≥ 38 dB against the input).

    python scripts/sharp_check.py --model dpa-lite
    python scripts/sharp_check.py --kernel-method      # `deblur --method kernel` (estimate + hqs)
"""

from __future__ import annotations

import argparse

from deblurcli import evaluation as ev
from deblurcli.models.loader import registered
from deblurcli.cli.bench_quality import _images
from deblurcli.engine.runner import RunConfig
from deblurcli.engine.setup import EDGE_PAD
from deblurcli.engine.tone import DEFAULT_SIGMA


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", default=[])
    ap.add_argument("--count", type=int, default=24)
    ap.add_argument("--kernel-method", action="store_true", help="`deblur --method kernel` as users run it")
    a = ap.parse_args()
    sets = ev.degraded_sets(_images(None, True, a.count), ("sharp",), seed=2024)
    if a.kernel_method:
        import numpy as np

        import deblurcli

        r = deblurcli.load(method="kernel", device="cpu")
        outs, conf = [], []
        for it in sets["sharp"]:
            outs.append(r.restore(it["blur"]))
            conf.append((r.last.used, round(float(r.last.confidence), 2), r.last.kernel.shape[0]))
        vs_in = np.mean([ev.score(o, it["blur"])[0] for o, it in zip(outs, sets["sharp"])])
        vs_truth = np.mean([ev.score(o, it["sharp"])[0] for o, it in zip(outs, sets["sharp"])])
        base = np.mean([ev.score(it["blur"], it["sharp"])[0] for it in sets["sharp"]])
        print(f"--method kernel: vs input {vs_in:.2f} dB, vs truth {vs_truth:.2f} dB (input vs truth {base:.2f} dB); "
              f"fallbacks {sum(c[0] == 'blind' for c in conf)}/{len(conf)}; kernel sides {sorted(c[2] for c in conf)}")
        return
    cfg = RunConfig(device="cpu", precision="auto", tile=512, tone_sigma=DEFAULT_SIGMA, edge_pad=EDGE_PAD)
    t = ev.quality(registered(a.model or ["dpa-lite"]), sets, cfg)
    for m, row in t.rows.items():
        cells = ", ".join(f"{k} {v[0]:.2f} dB" for k, v in row.items())
        print(f"{m}: {cells}")


if __name__ == "__main__":
    main()
