"""After a lent GPU's run (`scripts/gpu_train.sh`): validate each returned checkpoint on the CPU on the
foreign sets, next to the bundled checkpoint of the same id, and export it (safetensors into the
package, its weights.toml entry with the recipe's `device_steps`, e.g. "NVIDIA H200: 2600 steps") only
where it is better on their mean gain, unless --force.

    python scripts/gpu_import.py /work/.device/…/files_at            # compare, then export the better
    python scripts/gpu_import.py runs/gpu --dry-run                   # compare only
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deblurcli import archs  # noqa: E402
from deblurcli.synth import foreign  # noqa: E402
from deblurcli.training.validate import validate_foreign  # noqa: E402


def mean_gain(model: torch.nn.Module) -> tuple[float, dict[str, float]]:
    per = {}
    for kind in foreign.FOREIGN:
        m = validate_foreign(model.eval(), kind)
        per[kind] = m["psnr"] - m["psnr_input"]
    return float(np.mean(list(per.values()))), per


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path, help="what came back: one sub-folder per config id, each with best.pt")
    ap.add_argument("--dry-run", action="store_true", help="compare only; export nothing")
    ap.add_argument("--force", action="store_true", help="export even if not better than the bundled checkpoint")
    a = ap.parse_args()
    from deblurcli.hub.registry import load_registry
    from deblurcli.models.loader import load_entry
    from deblurcli.training.export import export

    reg = load_registry()
    for best in sorted(a.folder.glob("*/best.pt")):
        st = torch.load(best, map_location="cpu", weights_only=False)
        cfg = st["config"]
        net = archs.build(cfg["arch"], cfg["hparams"])
        net.load_state_dict(st["model"])
        new, per_new = mean_gain(net)
        old, per_old = mean_gain(load_entry(reg.get(cfg["id"]))[0]) if cfg["id"] in reg.entries else (float("-inf"), {})
        steps = ", ".join(f"{d}: {n} steps" for d, n in (st.get("device_steps") or {}).items())
        print(f"{cfg['id']} ({steps}): mean foreign gain {new:+.2f} dB against the bundled {old:+.2f}")
        for k in per_new:
            print(f"  {k:24s} {per_new[k]:+.2f}  (bundled {per_old.get(k, float('nan')):+.2f})")
        if a.dry_run or not (a.force or new > old):
            print("  not exported" + ("" if a.dry_run else ": not better than the bundled checkpoint"))
            continue
        run = ROOT / "runs" / f"{cfg['id']}-import"
        run.mkdir(parents=True, exist_ok=True)
        shutil.copy(best, run / "best.pt")
        print(f"  exported {export(run)}")


if __name__ == "__main__":
    main()
