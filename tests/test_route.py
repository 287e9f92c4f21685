"""`--method auto`: the diagnosis rules (``route.diagnose``, a pure function of what the estimators
measure), the routes each verdict takes, and what a run reports per photo."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from deblurcli.cli.main import app, route
from deblurcli.io.images import Photo
from deblurcli.route import ROUTES, Features, RouteConfig, diagnose

runner = CliRunner()


def _f(failed: str = "", confidence: float = 0.9, is_shake: bool = True, ok: bool = True, map_median: float = 2.0,
       disk: float = 0.5) -> Features:
    return Features(failed, confidence, is_shake, ok, 4.0, map_median, disk)


@pytest.mark.parametrize("feats,verdict", [
    (_f(failed="the photo is too small for a kernel"), "other"),
    (_f(), "shake"),
    (_f(map_median=0.5), "shake"),  # a small confident shake on a photo the map calls sharp
    (_f(confidence=0.5, ok=False, map_median=0.5), "sharp"),  # noise read as a wide kernel the regions disagree on
    (_f(confidence=0.72, ok=True, map_median=0.5), "sharp"),  # a marginal kernel does not outweigh a sharp map
    (_f(is_shake=False, ok=False, map_median=0.5), "sharp"),
    (_f(is_shake=False, ok=False, map_median=3.0), "defocus"),
    (_f(confidence=0.5, ok=False, map_median=3.0), "varying"),
    (_f(disk=0.93), "defocus"),  # a confident kernel shaped like a disk, on a defocused map
    (_f(disk=0.93, map_median=0.5), "shake"),  # a small round shake on a photo the map calls sharp
])
def test_each_measurement_gets_its_verdict_and_route(feats: Features, verdict: str) -> None:
    d = diagnose(feats)
    assert d.verdict == verdict and d.route == ROUTES[verdict] and 0.0 <= d.confidence <= 1.0 and d.reason
    assert d.line().startswith(f"{verdict}, confidence ") and d.line().endswith(f"→ {d.route}")
    assert set(d.as_dict()) == {"diagnosis", "confidence", "route", "reason"}


def test_the_sharp_threshold_is_the_config_s() -> None:
    f = _f(is_shake=False, ok=False, map_median=1.2)
    assert diagnose(f).verdict == "defocus" and diagnose(f, RouteConfig(sharp_map_px=1.5)).verdict == "sharp"


class _Fakes:
    """An AutoRestorer whose estimators and nets are stand-ins that say which one ran."""

    def __init__(self, verdict_map: float, kernel_ok: bool, fail: bool = False) -> None:
        from deblurcli.api import AutoRestorer
        from deblurcli.deconv.estimate import KernelEstimate
        from deblurcli.deconv.pipeline import KernelResult

        k = np.zeros((9, 9), np.float32)
        k[4, 1:8] = 1 / 7
        est = KernelEstimate(k, 0.9 if kernel_ok else 0.3, 1.0)
        self.ran: list[str] = []
        outer = self

        class Runner:
            def restore(self, rgb, cond=None, progress=None):  # type: ignore[no-untyped-def]
                outer.ran.append("blind")
                return rgb * 0 + 0.25

        class Deconv:
            est_cfg = None

            def restore(self, rgb, kernel, progress, warnings, estimated=None):  # type: ignore[no-untyped-def]
                outer.ran.append("kernel")
                assert estimated is est  # the diagnosis's estimate is reused, not made again
                return KernelResult(rgb * 0 + 0.5, k, 0.9, "kernel")

        class Defocus:
            def estimate(self, rgb):  # type: ignore[no-untyped-def]
                if fail:
                    raise ValueError("no edges")
                return np.full(rgb.shape[:2], verdict_map, np.float32)

            def restore_photo(self, photo, radius, progress=None):  # type: ignore[no-untyped-def]
                outer.ran.append("defocus")
                return photo.rgb() * 0 + 0.75

        import deblurcli.deconv.estimate as est_mod

        self._patch = (est_mod, est_mod.estimate)
        est_mod.estimate = lambda rgb, cfg=None: est  # type: ignore[assignment]
        self.r = AutoRestorer(Runner(), None, Deconv(), Defocus())  # type: ignore[arg-type]

    def close(self) -> None:
        mod, fn = self._patch
        mod.estimate = fn  # type: ignore[assignment]


@pytest.mark.parametrize("map_px,kernel_ok,fail,expect", [(0.5, False, False, "none"), (3.0, True, False, "kernel"),
                                                           (3.0, False, False, "blind"), (0.5, True, True, "blind")])
def test_each_verdict_takes_its_route_and_says_so(tmp_path: Path, map_px: float, kernel_ok: bool, fail: bool, expect: str) -> None:
    from deblurcli.batch import BatchOptions, NamingOptions, plan_jobs, run_batch

    fx = _Fakes(map_px, kernel_ok, fail)
    try:
        src = tmp_path / "p.png"
        a = (np.random.default_rng(0).random((24, 32, 3)) * 255).astype(np.uint8)
        Image.fromarray(a).save(src)
        [res] = list(run_batch(plan_jobs([str(src)], NamingOptions()), fx.r.batch_process(), BatchOptions()))
        assert res.status == "done" and res.info["route"] == expect and res.info["line"].endswith(expect)
        assert fx.ran == ([] if expect == "none" else [expect])
        out = np.asarray(Image.open(tmp_path / "p_deblurred.png"))
        if expect == "none":
            assert np.array_equal(out, a)  # a sharp photo is left exactly as it is
        if fail:
            assert res.info["diagnosis"] == "other" and any("could not be diagnosed" in w for w in res.warnings)
    finally:
        fx.close()


def test_auto_on_the_cli_reports_the_route_per_photo(tmp_path: Path) -> None:
    """With the bundled nets: an already-sharp photo is diagnosed sharp and left as it is; --json carries
    the diagnosis, its confidence and the route of each photo."""
    from deblurcli.synth.data import dead_leaves

    a = (np.clip(dead_leaves(np.random.default_rng(3), 160, n=600), 0, 1) * 255).astype(np.uint8)[:120]
    Image.fromarray(a).save(tmp_path / "sharp.png")
    r = runner.invoke(app, route([str(tmp_path / "sharp.png"), "--method", "auto", "--json", "-q"]))
    assert r.exit_code == 0, r.output
    f = json.loads(r.stdout)["files"][0]
    assert (f["diagnosis"], f["route"]) == ("sharp", "none") and 0 < f["confidence"] <= 1
    assert np.array_equal(np.asarray(Image.open(tmp_path / "sharp_deblurred.png")), a)


def test_auto_does_not_take_a_prior(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "p.png")
    (tmp_path / "c.prior").write_bytes(b"x")
    r = runner.invoke(app, route([str(tmp_path / "p.png"), "--method", "auto", "--prior", str(tmp_path / "c.prior")]))
    assert r.exit_code == 2 and "--method auto does not take --prior" in r.output


def test_a_disk_looks_like_a_disk_and_a_shake_path_does_not() -> None:
    from deblurcli.route import disk_similarity
    from deblurcli.synth import kernels

    assert disk_similarity(kernels.disk_kernel(3.0)) > 0.99 and disk_similarity(kernels.disk_kernel(1.7)) > 0.9
    assert disk_similarity(kernels.line_kernel(15, 30)) < 0.5
