"""Does no harm: the already-sharp CBSD68 set (24 centre crops of 256², σ 0.01 noise, as in
`deblur bench --quality --val`), restored as users run the models (tone guard and mirrored margin on),
scored against the truth and against the input itself (the bar: ≥ 38 dB against the input).

    python scripts/sharp_check.py --model dpa-lite
"""

from __future__ import annotations

import argparse

from deblurcli import evaluation as ev
from deblurcli.cli.bench_cmd import _models
from deblurcli.cli.bench_quality import _images
from deblurcli.engine.runner import RunConfig
from deblurcli.engine.setup import EDGE_PAD
from deblurcli.engine.tone import DEFAULT_SIGMA


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", default=[])
    ap.add_argument("--count", type=int, default=24)
    a = ap.parse_args()
    sets = ev.degraded_sets(_images(None, True, a.count), ("sharp",), seed=2024)
    cfg = RunConfig(device="cpu", precision="auto", tile=512, tone_sigma=DEFAULT_SIGMA, edge_pad=EDGE_PAD)
    t = ev.quality(_models(a.model or ["dpa-lite"]), sets, cfg)
    for m, row in t.rows.items():
        cells = ", ".join(f"{k} {v[0]:.2f} dB" for k, v in row.items())
        print(f"{m}: {cells}")


if __name__ == "__main__":
    main()
