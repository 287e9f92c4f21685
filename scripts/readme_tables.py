"""Render docs/*.json (written by scripts/measure_all.sh) as the markdown tables in docs/models.md,
between the <!-- TABLES --> markers. Every number in those tables comes from these files.

    python scripts/readme_tables.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from deblurcli.evaluation import NO_HARM

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "logs"  # what scripts/measure_all.sh writes


def _load(name: str) -> dict | None:
    p = DOCS / name
    return json.loads(p.read_text()) if p.exists() else None


def quality_table(q: dict, title: str) -> list[str]:
    sets = sorted({s for row in q.values() for s in row})
    out = [f"**{title}** (PSNR dB / SSIM)", "", "| method | " + " | ".join(sets) + " |", "|---|" + "---:|" * len(sets)]
    for method, row in q.items():
        out.append(f"| {method} | " + " | ".join(f"{row[s]['psnr']:.2f} / {row[s]['ssim']:.3f}" if s in row else "—" for s in sets) + " |")
    return out + [""]


def timing_table(d: dict, title: str) -> list[str]:
    m = d["machine"]
    out = [f"**{title}** — {m['cpu']}, {m['cores']} cores, torch {m['torch']}; matmul peak "
           + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in d["matmul_peak_gflops"].items()), "",
           "| model | size | precision | tile | ms (median) | s/MP | peak MB | params | GFLOP/MP | GFLOP/s | % of peak |",
           "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in d["results"]:
        share = f"{100 * r['peak_share']:.0f}%" if r.get("peak_share") else "—"
        out.append(f"| {r['model']} | {r['size']} | {r['precision']} | {r['tile']} | {r['ms_median']:.0f} | {r['s_per_mp']:.3f} | "
                   f"{r['peak_mb']:.0f} | {r['params'] / 1e6:.2f} M | {r['gflop_per_mp']:.0f} | {r['gflops']:.0f} | {share} |")
    return out + [""]


def summary_table(q: dict, speed: dict) -> list[str]:
    """One row per shipped restorer: training steps, size, speed, and its gain over the blurry input."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    reg = tomllib.loads((ROOT / "deblurcli" / "weights.toml").read_text())["weights"]
    base = q["blurry input"]
    sets = sorted(base)
    t = {r["model"]: r for r in speed["results"] if r["size"] == "1280x720"}
    out = ["**Each shipped model: training, cost and gain over the blurry input** (PSNR dB; from the two tables "
           "below; sharp = what it does to an already-sharp photo)", "",
           "| model | steps | params | GFLOP/MP | s/MP (1280×720) | " + " | ".join(sets) + " | sharp: PSNR vs input (bar ≥ 38) |",
           "|---|---:|---:|---:|---:|" + "---:|" * (len(sets) + 1)]
    for method, row in q.items():
        wid = method.replace(" (true map)", "")
        if wid not in reg:
            continue
        r = t.get(wid)
        cost = f"{r['params'] / 1e6:.2f} M | {r['gflop_per_mp']:.0f} | {r['s_per_mp']:.2f}" if r else "— | — | —"
        gains = " | ".join(f"{row[s]['psnr'] - base[s]['psnr']:+.2f}" if s in row else "—" for s in sets)
        harm = f"{row[NO_HARM]['psnr']:.2f}" if NO_HARM in row else "—"
        out.append(f"| {method} | {reg[wid]['recipe']['steps']:,} | {cost} | {gains} | {harm} |")
    return out + [""]


def main() -> None:
    lines: list[str] = []
    q = _load("quality.json")
    speed = _load("bench_cpu.json")
    if q and "quality" in q and speed:
        lines += summary_table(q["quality"], speed)
    if q and "quality" in q:
        lines += quality_table(q["quality"], f"Quality by degradation — {q['images']}, {q['count']} images per set, fixed seed "
                               "(`deblur bench --quality --val --count 24`)")
    c, cc = _load("calibration.json"), _load("calibration_chart.json")
    if c and "calibration" in c:
        # one column per kind of calibration pair: the same modules, fields and test photos
        merged: dict[str, dict] = {m: {"calibrated with a photo": v["lens modules"]} for m, v in c["calibration"].items()}
        for m, v in (cc or {}).get("calibration", {}).items():
            merged.setdefault(m, {})["calibrated with a chart"] = v["lens modules"]
        lines += quality_table(merged, "Calibrated deblurring on simulated camera modules, dpa-compact (`deblur bench --calibration --val "
                               "--count 24 --adapt-steps 200 --adapt-images ../shared/data/train/bsds200`, and with `--chart`)")
    d = _load("defocus.json")
    if d and "defocus" in d:
        maes = d["defocus_estimator_mae_px"]
        maes = maes if isinstance(maes, dict) else {"edge": maes}
        err = ", ".join(f"{k} {v:.2f} px" for k, v in maes.items())
        lines += quality_table(d["defocus"], f"Defocus (`deblur bench --defocus --val --count 24`); blur-map estimators' mean "
                               f"absolute radius error: {err}")
    sens = DOCS / "defocus_map_sensitivity.txt"
    if sens.exists():
        lines += ["SVBR-Net against maps of known error (`python scripts/defocus_map_sensitivity.py --count 12`):", "",
                  "```", sens.read_text().strip(), "```", ""]
    for name, title in (("bench_cpu.json", "Speed of the shipped checkpoints (`deblur bench --size 1280x720 --runs 3`)"),
                        ("bench_cpu_12mp.json", "12 MP photos, both distortion-prior models and the two fastest others (`deblur bench --model dpa-lite --model dpa-compact --model lcnet-compact --model attgan-compact --size 4000x3000 --runs 1 --warmup 1`)"),
                        ("bench_arch_cpu.json", "Speed of every architecture's compact configuration (`deblur bench --arch all`)")):
        t = _load(name)
        if t:
            lines += timing_table(t, title)
    for name in ("end_to_end_12mp.txt", "memory_24mp.txt", "batch_utilisation.txt"):
        p = DOCS / name
        if p.exists():
            lines += ["```", p.read_text().strip(), "```", ""]
    target = ROOT / "docs" / "models.md"
    readme = target.read_text()
    block = "<!-- TABLES: filled from docs/logs/*, produced by scripts/measure_all.sh -->\n" + "\n".join(lines) + "<!-- /TABLES -->"
    readme = re.sub(r"<!-- TABLES:.*?(<!-- /TABLES -->|(?=\n## ))", lambda _: block, readme, count=1, flags=re.S)
    target.write_text(readme)
    print(f"tables updated in {target}")


if __name__ == "__main__":
    main()
