"""The foreign sets (blur we did not make) for shipped checkpoints and training runs, as JSON.

    python scripts/foreign_eval.py --model dpa-lite --model dpa-compact --json docs/foreign_before.json
    python scripts/foreign_eval.py --run runs/dpa-lite-wide --json docs/foreign_run.json

Networks run as users get them (tone guard and mirrored margin on; --raw: the bare net). Each method
is scored after the best integer shift within ±10 px, with its mean-level shift (1/255);
the blurry input, unsharp masking and Wiener with the true kernel are scored the same way. The same
sets lead `deblur bench --quality --val`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from deblurcli import archs, evaluation as ev
from deblurcli.models.loader import registered
from deblurcli.engine.runner import RunConfig


def _run_model(run: Path, which: str) -> tuple[torch.nn.Module, str, int]:
    st = torch.load(run / f"{which}.pt", map_location="cpu", weights_only=False)
    cfg = st["config"]
    model = archs.build(cfg["arch"], cfg["hparams"])
    model.load_state_dict(st["model"])
    return model.eval(), cfg["arch"], st["step"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", default=[], help="weights id (repeatable)")
    ap.add_argument("--file", action="append", default=[], type=Path, help="a safetensors checkpoint file (repeatable)")
    ap.add_argument("--run", action="append", default=[], type=Path, help="a training run folder (its best.pt)")
    ap.add_argument("--which", default="best", choices=("best", "last"))
    ap.add_argument("--count", type=int, default=12, help="CBSD68 photos per kernel")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--raw", action="store_true", help="the bare network: no tone guard, no mirrored margin")
    a = ap.parse_args()
    models = registered(a.model) if a.model else {}
    for f in a.file:
        from deblurcli.models.store import load

        net, meta = load(f)
        models[f"{f.stem} ({f})"] = (net, meta["arch"])
    for r in a.run:
        m, arch, step = _run_model(r, a.which)
        models[f"{r.name} ({a.which}, step {step})"] = (m, arch)
    torch.set_num_threads(a.threads)
    from deblurcli.engine.setup import EDGE_PAD
    from deblurcli.engine.tone import DEFAULT_SIGMA

    run_cfg = RunConfig(device="cpu", precision="auto", tile=512, tone_sigma=0.0 if a.raw else DEFAULT_SIGMA,
                        edge_pad=0 if a.raw else EDGE_PAD)  # by default what users get
    table = ev.quality(models, ev.foreign_sets(a.count), run_cfg, lambda s: print(s, flush=True))
    out = {m: {s: {"psnr": v[0], "ssim": v[1], "level_255": table.levels.get(m, {}).get(s)} for s, v in row.items()}
           for m, row in table.rows.items()}
    sets = list(next(iter(out.values())))
    print("| method | " + " | ".join(sets) + " |")
    for m, row in out.items():
        print(f"| {m} | " + " | ".join(f"{row[s]['psnr']:.2f} ({row[s]['level_255']:+.1f})" if s in row else "—" for s in sets) + " |")
    if a.json:
        a.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
