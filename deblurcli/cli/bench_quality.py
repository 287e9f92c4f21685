"""Quality tables for `deblur bench --quality/--calibration/--defocus`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.table import Table

from .. import evaluation as ev
from ..engine.runner import RunConfig
from ..errors import UsageError
from .common import console, emit_json


def _images(folder: Path | None, val: bool, count: int, size: int = 256) -> list[np.ndarray]:
    from ..synth.data import VAL_DIR, data_root, load_images, read_rgb
    from ..synth.scenes import scene

    if val:
        imgs = load_images(data_root(), (VAL_DIR,))
    elif folder is not None:
        if not folder.is_dir():
            raise UsageError(f"--images {folder}: no such folder", "give a folder of sharp photos")
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".tif", ".tiff"))
        if not files:
            raise UsageError(f"{folder}: no images")
        imgs = [read_rgb(p) for p in files]
    else:
        return [scene(s, size, size) for s in range(count)]
    out = []
    for img in imgs[:count]:
        h, w = img.shape[:2]
        s = min(size, h, w)
        out.append(np.ascontiguousarray(img[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]))
    return out


FOREIGN_PER_KERNEL = 12  # CBSD68 photos per foreign kernel, whatever --count says (the protocol)


def _print(table: ev.Table, title: str) -> dict:
    """Print ``table`` (foreign sets first, with their mean-level shift in 1/255) and return it as JSON."""
    from ..synth.foreign import is_foreign

    sets = sorted({s for row in table.rows.values() for s in row}, key=lambda s: (not is_foreign(s), s))
    t = Table(title=title)
    t.add_column("method")
    for s in sets:
        t.add_column(f"{s} PSNR / SSIM" + (" (level)" if is_foreign(s) else ""), justify="right")

    def cell(method: str, s: str) -> str:
        row = table.rows[method]
        if s not in row:
            return "—"
        lev = table.levels.get(method, {}).get(s)
        return f"{row[s][0]:.2f} / {row[s][1]:.3f}" + (f" ({lev:+.1f})" if lev is not None else "")

    for method in table.rows:
        t.add_row(method, *[cell(method, s) for s in sets])
    console.print(t)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for m, row in table.rows.items():
        out[m] = {s: {"psnr": v[0], "ssim": v[1]} for s, v in row.items()}
        for s, lev in table.levels.get(m, {}).items():
            out[m][s]["level_255"] = lev
    return out


def run_quality(ids: list[str], folder: Path | None, val: bool, calibration: bool, defocus: bool, quality: bool,
                count: int, device: str, json_file: Path | None, adapt_images: Path | None = None,
                adapt_steps: int = 1000, chart: bool = False, as_json: bool = False) -> None:
    from ..hub.registry import load_registry
    from ..models.loader import registered

    from ..engine.setup import EDGE_PAD
    from ..engine.tone import DEFAULT_SIGMA

    cfg = RunConfig(device=device, precision="auto", tile=512, tone_sigma=DEFAULT_SIGMA, edge_pad=EDGE_PAD)  # what users get
    imgs = _images(folder, val, count)
    report: dict[str, object] = {"images": "cbsd68 (val)" if val else (str(folder) if folder else "procedural scenes"), "count": len(imgs)}
    reg = load_registry()
    if quality:
        models = registered(ids)
        sets = ev.degraded_sets(imgs, ("motion", "lens", "defocus", "sharp"), seed=2024)
        if val:  # real blur needs the data root's 240 fps clip; the foreign sets lead the table
            sets["frames"] = ev.frame_items(len(imgs))
            sets = ev.foreign_sets(FOREIGN_PER_KERNEL) | sets
        from ..api import load

        routed = load(method="auto", device=device)  # the default command, beside the models
        with console.status("measuring …") as st:
            table = ev.quality(models, sets, cfg, lambda s: st.update(s), routed)  # type: ignore[arg-type]
        report["quality"] = _print(table, f"quality on {report['images']} ({len(imgs)} images per set)")
        report["routes"] = table.routes
        console.print("routes the default took: " + "; ".join(
            f"{name} " + ", ".join(f"{n} {r}" for r, n in sorted(c.items(), key=lambda x: -x[1])) for name, c in table.routes.items()))
    if calibration:
        entry = reg.get(ids[0]) if ids and ids != ["all"] else reg.default_for("calibrate")
        model = registered([entry.id])[entry.id][0]
        from ..calibration.adapt import AdaptConfig, load_photos

        acfg = AdaptConfig(steps=adapt_steps)
        adapt = (acfg, load_photos(adapt_images, acfg)[0]) if adapt_images else None
        with console.status("simulated camera modules …") as st:
            mods = ev.lens_modules(imgs, modules=max(2, len(imgs) // 4), photos=3, seed=7, chart=chart)
            deconv = registered([reg.default_for("deconv").id])[reg.default_for("deconv").id][0]
            table = ev.calibration(model, mods, cfg, adapt, lambda s: st.update(s), deconv=deconv)  # type: ignore[arg-type]
        pair = "a chart" if chart else "a photo"
        report["calibration"] = _print(table, f"calibration with {pair}: {len(mods)} simulated camera modules × 3 photos ({entry.id})")
        report["calibration_pair"] = "chart" if chart else "photo"
    if defocus:
        svbr_e = reg.default_for("defocus")
        blind_e = reg.default_for("deblur")
        ms = registered([svbr_e.id, blind_e.id])
        from ..defocusing.estimate import load_learned_estimator

        learned = load_learned_estimator(reg) if "blurmap" in reg.defaults else None
        sets = ev.defocus_twins(imgs, seed=2025)
        from ..api import load
        from ..io.images import Photo

        routed = load(method="auto", device=device)
        with console.status("defocus …"):
            table, maes = ev.defocus(ms[svbr_e.id][0], (blind_e.id, ms[blind_e.id][0]), sets, cfg, learned,  # type: ignore[arg-type]
                                     lambda rgb: routed.restore_photo(Photo(rgb)))
        err = ", ".join(f"{k} {v:.2f} px" for k, v in maes.items())
        report["defocus"] = _print(table, f"defocus ({svbr_e.id}); estimators' mean |radius error|: {err}")
        report["defocus_estimator_mae_px"] = maes
    emit_json(report, as_json, json_file)
