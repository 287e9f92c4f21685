"""Quality evaluation behind `deblur bench --quality/--calibration/--defocus` and the README tables.

Every figure is PSNR/SSIM against the sharp image (8-px border ignored), next to the blurry input
and simple baselines: unsharp masking, and Wiener deconvolution given the true kernel where one exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from .archs import ARCHS
from .classical import PSF_STEP_NSR, field_deconvolve, unsharp, wiener
from .engine.runner import BlurMap, PriorField, Runner, RunConfig
from .calibration.noise import value_sigma
from .engine.kernel import KernelField
from .engine.unrolled import UnrolledRunner
from .metrics import aligned_scores, scores
from .synth import foreign, kernels
from .synth.degrade import LensField, degrade, sensor

if TYPE_CHECKING:
    from .calibration.adapt import AdaptConfig

def to_tensor(img: np.ndarray) -> torch.Tensor:
    """An H×W×C image as a (1, C, H, W) float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float()


def score(restored: np.ndarray, sharp: np.ndarray) -> tuple[float, float]:
    p, s = scores(to_tensor(restored), to_tensor(sharp))
    return float(p[0]), float(s[0])


def aligned(restored: np.ndarray, sharp: np.ndarray) -> tuple[float, float, float]:
    """(PSNR, SSIM, mean-level shift in 1/255) after the best integer shift within ±10 px."""
    return aligned_scores(to_tensor(restored), to_tensor(sharp))


@dataclass
class Table:
    """rows[method][set] = (psnr, ssim) means; levels[method][set] = mean-level shift (1/255) where the
    set is scored with it (the foreign sets)."""

    rows: dict[str, dict[str, tuple[float, float]]]
    levels: dict[str, dict[str, float]] = field(default_factory=dict)
    routes: dict[str, dict[str, int]] = field(default_factory=dict)  # set → route → photos the default sent there

    def add(self, method: str, set_name: str, values: list[tuple[float, ...]]) -> None:
        a = np.array(values)
        self.rows.setdefault(method, {})[set_name] = (float(a[:, 0].mean()), float(a[:, 1].mean()))
        if a.shape[1] > 2:
            self.levels.setdefault(method, {})[set_name] = float(a[:, 2].mean())


def foreign_sets(count: int = 12) -> dict[str, list[dict]]:
    """The foreign sets (``synth.foreign``) as items of ``quality``; the Wiener baseline gets the true
    kernel of the synthetic ones."""
    return {name: [{"kernel": None, "radius": None} | it for it in foreign.build(name, count=count)]
            for name in foreign.FOREIGN}


def degraded_sets(images: list[np.ndarray], kinds: tuple[str, ...], seed: int) -> dict[str, list[dict]]:
    """Fixed-seed degradations of ``images`` per kind (with the kernel / radius map where they exist)."""
    out: dict[str, list[dict]] = {}
    for k_i, kind in enumerate(kinds):
        items = []
        for i, img in enumerate(images):
            rng = np.random.default_rng([seed, k_i, i])
            d = degrade(img, rng, kind)  # type: ignore[arg-type]
            items.append({"sharp": img, "blur": sensor(d.blurred, rng, noise=0.01, jpeg_p=0.0), "kernel": d.kernel, "radius": d.radius_map})
        out[kind] = items
    return out


def frame_items(n: int, size: int = 256) -> list[dict]:
    """Real motion blur: the validation crops of averaged 240 fps frames (the clip's held-out end)."""
    from .synth import valset

    d = valset.load("frames", n=n, size=size)
    return [{"sharp": s, "blur": b, "kernel": None, "radius": None} for b, s in zip(d["blur"], d["sharp"])]


NO_HARM = "sharp vs input"  # already-sharp photos: PSNR of the output against the input itself (bar: ≥ 38 dB)


ROUTED = "deblur (the default: diagnosed and routed)"


def quality(models: dict[str, tuple[nn.Module, str]], sets: dict[str, list[dict]], run_cfg: RunConfig,
            progress: Callable[[str], None] | None = None, routed: object | None = None) -> Table:
    """Blind models over every set (SVBR-Net gets the true radius map on the defocus set only). On the
    ``sharp`` set, each method is also scored against its own input (``NO_HARM``): how much it changes
    a photo that needed nothing. ``routed``: an ``api.AutoRestorer``, the default command, scored as
    ``ROUTED`` with the routes it took per set (``Table.routes``)."""
    table = Table({})

    def add(method: str, name: str, items: list[dict], outs: list[np.ndarray]) -> None:
        fn = aligned if foreign.is_foreign(name) else score
        table.add(method, name, [fn(o, it["sharp"]) for o, it in zip(outs, items)])
        if name == "sharp" and method != "blurry input":
            table.add(method, NO_HARM, [score(o, it["blur"]) for o, it in zip(outs, items)])

    for name, items in sets.items():
        add("blurry input", name, items, [it["blur"] for it in items])
        add("unsharp mask", name, items, [unsharp(it["blur"]) for it in items])
        if all(it["kernel"] is not None for it in items):
            add("Wiener (true kernel)", name, items, [wiener(it["blur"], it["kernel"], linear=it.get("linear", True)) for it in items])
    for mid, (model, arch) in models.items():
        kernel_fed = ARCHS[arch].takes_kernel
        runner = UnrolledRunner(model, run_cfg) if kernel_fed else Runner(model, run_cfg)  # type: ignore[arg-type]
        for name, items in sets.items():
            map_fed = ARCHS[arch].takes_blur_map
            if (map_fed and name != "defocus") or (kernel_fed and not all(it.get("kernel") is not None for it in items)):
                continue
            if progress:
                progress(f"{mid} on {name}")
            if kernel_fed:  # non-blind: the true kernel, the noise level as measured on the photo
                outs = [runner.restore(it["blur"], KernelField.uniform(kernels.canvas(it["kernel"], model.cfg.canvas),
                                                                        value_sigma(it["blur"]))) for it in items]
                add(mid + " (true kernel)", name, items, outs)
                continue
            outs = [runner.restore(it["blur"], BlurMap(it["radius"]) if map_fed else None) for it in items]
            add(mid + (" (true map)" if map_fed else ""), name, items, outs)
    if routed is not None:
        from .io.images import Photo

        for name, items in sets.items():
            if progress:
                progress(f"the default on {name}")
            outs = []
            for it in items:
                outs.append(routed.restore_photo(Photo(it["blur"])))  # type: ignore[attr-defined]
                route = routed.diagnosis.route  # type: ignore[attr-defined]
                table.routes.setdefault(name, {}).setdefault(route, 0)
                table.routes[name][route] += 1
            add(ROUTED, name, items, outs)
    return table


def lens_modules(images: list[np.ndarray], modules: int, photos: int, seed: int, chart: bool = False) -> list[dict]:
    """Simulated camera modules: a lens field each, one calibration pair, ``photos`` test photos. The
    calibration pair's sharp side is a photo, or with ``chart`` a calibration chart of the same size
    (``calibration.chart``); the fields and test photos are the same either way."""
    from .calibration.chart import make_chart

    out = []
    n = len(images)
    for m in range(modules):
        rng = np.random.default_rng([seed, 99, m])
        field = LensField.random(rng)
        pick = rng.choice(n, photos + 1, replace=False)
        blur = lambda img: sensor(degrade(img, rng, "lens", field).blurred, rng, noise=0.01, jpeg_p=0.0)  # noqa: E731
        cal_sharp = images[pick[0]]
        if chart:
            cal_sharp = make_chart(*cal_sharp.shape[:2], seed=m)
        out.append({"field": field, "cal_sharp": cal_sharp, "cal_blur": blur(cal_sharp),
                    "photos": [(images[i], blur(images[i])) for i in pick[1:]]})
    return out


def calibration(model: nn.Module, modules: list[dict], run_cfg: RunConfig,
                adapt_with: "tuple[AdaptConfig, list[np.ndarray]] | None" = None,
                progress: Callable[[str], None] | None = None, adapt_workers: int = 0,
                deconv: nn.Module | None = None) -> Table:
    """Calibrated DPA (the net alone, and followed by the PSF step that `deblur --prior` takes) vs blind
    DPA vs a spatially uniform prior vs PSF-field deconvolution vs input; with ``adapt_with`` (config,
    sharp photos), also the DPA net adapted to each module on those photos, as `deblur calibrate
    --adapt-images` does (on ``run_cfg``'s device, the pairs made by ``adapt_workers`` processes); with
    ``deconv`` (the non-blind net, ``archs.hqs``), also that net given the calibrated PSF field."""
    import copy

    from .calibration.adapt import adapt, apply_adapted
    from .calibration.estimate import estimate_prior
    from .calibration.noise import noise_rms
    from .calibration.psf import estimate_field

    runner = Runner(model, run_cfg)
    names = ["blurry input", "blind DPA", "DPA + uniform prior", "PSF-field deconvolution", "calibrated DPA",
             "calibrated DPA + PSF step"]
    adapted_row = f"calibrated DPA, adapted ({adapt_with[0].steps} steps)" if adapt_with else ""
    extra = [adapted_row, adapted_row + " + PSF step"] if adapt_with else []
    field_row = "PSF field + non-blind net (hqs)"
    if deconv is not None:
        from .calibration.noise import value_sigma
        from .deconv.field import restore_field
        from .engine.unrolled import UnrolledRunner

        unrolled = UnrolledRunner(deconv, run_cfg)  # type: ignore[arg-type]
        extra.append(field_row)
    rows: dict[str, list[tuple[float, float]]] = {k: [] for k in names + extra}
    adapted_net = copy.deepcopy(model) if adapt_with else None  # one copy, each module's weights loaded in turn
    for i, mod in enumerate(modules):
        if progress:
            progress(f"camera module {i + 1}/{len(modules)}")
        levels = estimate_prior(model, mod["cal_sharp"], mod["cal_blur"])
        prior = PriorField(tuple(levels))
        uniform = PriorField(tuple(lev.mean((2, 3), keepdim=True).expand_as(lev).contiguous() for lev in levels))
        psfs = estimate_field(mod["cal_sharp"], mod["cal_blur"])
        tuned = None
        if adapt_with and adapted_net is not None:
            acfg = adapt_with[0].with_measured_noise(*noise_rms(mod["cal_blur"]))
            weights = adapt(model, mod["cal_sharp"], psfs, levels, acfg, adapt_with[1], blur=mod["cal_blur"],
                            device=runner.device, workers=adapt_workers)
            tuned = Runner(apply_adapted(adapted_net, weights), run_cfg)
        for sharp, blur in mod["photos"]:
            rows["blurry input"].append(score(blur, sharp))
            rows["blind DPA"].append(score(runner.restore(blur), sharp))
            rows["DPA + uniform prior"].append(score(runner.restore(blur, uniform), sharp))
            rows["PSF-field deconvolution"].append(score(field_deconvolve(blur, psfs), sharp))
            out = runner.restore(blur, prior)
            rows["calibrated DPA"].append(score(out, sharp))
            rows["calibrated DPA + PSF step"].append(score(field_deconvolve(blur, psfs, PSF_STEP_NSR, ref=out), sharp))
            if deconv is not None:
                rows[field_row].append(score(restore_field(blur, psfs, unrolled, value_sigma(blur)), sharp))
            if tuned is not None:
                out = tuned.restore(blur, prior)
                rows[adapted_row].append(score(out, sharp))
                rows[adapted_row + " + PSF step"].append(score(field_deconvolve(blur, psfs, PSF_STEP_NSR, ref=out), sharp))
    t = Table({})
    for k, v in rows.items():
        t.add(k, "lens modules", v)
    return t


def defocus_twins(images: list[np.ndarray], seed: int) -> dict[str, list[dict]]:
    """Each photo defocused by one smooth radius map (0.5-6 px) twice: on linear light, as a lens blurs
    (``defocus``: the set ``degraded_sets`` makes for "defocus", photo for photo), and on the sRGB values,
    as much published data and processed photos are (``defocus-srgb``); the same map and the same noise
    draw (σ 0.01) for both twins."""
    import copy

    from .synth.degrade import defocus_blur

    out: dict[str, list[dict]] = {"defocus": [], "defocus-srgb": []}
    for i, img in enumerate(images):
        rng = np.random.default_rng([seed, 0, i])
        d = degrade(img, rng, "defocus")
        rmap = d.radius_map
        twins = (("defocus", d.blurred), ("defocus-srgb", defocus_blur(img, rmap)))
        for name, blurred in twins:
            out[name].append({"sharp": img, "blur": sensor(blurred, copy.deepcopy(rng), noise=0.01, jpeg_p=0.0), "radius": rmap,
                              "linear": name == "defocus"})
    return out


def defocus(svbr: nn.Module, blind: tuple[str, nn.Module] | None, sets: dict[str, list[dict]], run_cfg: RunConfig,
            learned: nn.Module | None = None, auto: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[Table, dict[str, float]]:
    """Per set of ``defocus_twins``: the Tikhonov filter given the true map in the set's space
    (``classical.defocus_deconvolve``), SVBR-Net with the true map and with each estimator's map, as it
    runs by default (the blur taken to act on linear light) and, on the sRGB twin, told the space
    (``api.Defocuser``'s ``space="srgb"``), the blind default model, ``auto`` (`deblur` as it runs by
    default: the photo diagnosed and routed), the input; and each estimator's mean |radius error| (px)
    over both sets."""
    from .calibration.psf import restore_in_space
    from .classical import defocus_deconvolve
    from .defocusing.estimate import estimate_radius, estimate_radius_learned

    runner = Runner(svbr, run_cfg)
    estimators: dict[str, Callable[[np.ndarray], np.ndarray]] = {"edge": estimate_radius}
    if learned is not None:
        estimators["learned"] = lambda img: estimate_radius_learned(img, learned)
    maes: dict[str, list[float]] = {k: [] for k in estimators}
    brunner = Runner(blind[1], run_cfg) if blind else None
    t = Table({})
    for name, items in sets.items():
        rows: dict[str, list[tuple[float, float]]] = {}

        def add(method: str, out: np.ndarray, it: dict) -> None:
            rows.setdefault(method, []).append(score(out, it["sharp"]))

        for it in items:
            b, rmap, lin = it["blur"], it["radius"], it["linear"]
            add("blurry input", b, it)
            add("Tikhonov (‖∇x‖²), true map, in the blur's space", defocus_deconvolve(b, rmap, linear=lin), it)
            add("SVBR-Net, true map", runner.restore(b, BlurMap(rmap)), it)
            if not lin:  # told the space, as ``api.Defocuser`` runs with space "srgb"
                add("SVBR-Net, true map, told the space", restore_in_space(lambda x: runner.restore(x, BlurMap(rmap)), b, "srgb"), it)
            for k, fn in estimators.items():
                est = fn(b)
                maes[k].append(float(np.abs(est - rmap).mean()))
                add(f"SVBR-Net, {k} estimated map", runner.restore(b, BlurMap(est)), it)
                if not lin:  # the map read from the values as they are, as ``api.Defocuser`` reads it
                    add(f"SVBR-Net, {k} estimated map, told the space",
                        restore_in_space(lambda x: runner.restore(x, BlurMap(est)), b, "srgb"), it)
            if brunner is not None and blind:
                add(f"{blind[0]} (blind)", brunner.restore(b), it)
            if auto is not None:
                add(ROUTED, auto(b), it)
        for k, v in rows.items():
            t.add(k, name, v)
    return t, {k: float(np.mean(v)) for k, v in maes.items()}
