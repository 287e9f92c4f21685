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
       disk: float = 0.5, radius: float = 6.0) -> Features:
    return Features(failed, confidence, is_shake, ok, radius, map_median, disk)


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
    (_f(radius=3.0), "slight"),  # a confident but narrow kernel: mild real blur the kernel path harmed
    (_f(radius=3.0, map_median=0.5), "slight"),
    (_f(radius=3.0, disk=0.93), "defocus"),  # a small disk on a defocused map stays defocus
])
def test_each_measurement_gets_its_verdict_and_route(feats: Features, verdict: str) -> None:
    d = diagnose(feats)
    assert d.verdict == verdict and d.route == ROUTES[verdict] and 0.0 <= d.confidence <= 1.0 and d.reason
    assert d.line().startswith(f"{verdict}, confidence ") and d.line().endswith(f"→ {d.route}")
    assert set(d.as_dict()) == {"diagnosis", "confidence", "route", "reason"}


def test_the_thresholds_are_the_config_s() -> None:
    f = _f(is_shake=False, ok=False, map_median=1.2)
    assert diagnose(f).verdict == "defocus" and diagnose(f, RouteConfig(sharp_map_px=1.5)).verdict == "sharp"
    f = _f(radius=5.0)
    assert diagnose(f).verdict == "shake" and diagnose(f, RouteConfig(min_shake_px=6.0)).verdict == "slight"


class _Fakes:
    """An AutoRestorer whose estimators and nets are stand-ins that say which one ran."""

    def __init__(self, verdict_map: float, kernel_ok: bool, fail: bool = False) -> None:
        from deblurcli.api import AutoRestorer
        from deblurcli.deconv.estimate import KernelEstimate
        from deblurcli.deconv.pipeline import KernelResult

        k = np.zeros((25, 25), np.float32)
        k[12, 1:24] = 1 / 23  # a shake wide enough for the kernel path (rms radius 6.6 px)
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


@pytest.mark.parametrize("map_px,written", [(3.0, True), (0.5, False)])
def test_save_map_writes_the_map_a_defocused_photo_was_restored_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     map_px: float, written: bool) -> None:
    """--save-map under auto: the defocus route writes the map it used (16-bit, radius × 1000); a photo
    that took another route gets no map and a warning that says why."""
    import deblurcli.route as route_mod
    from deblurcli.batch import BatchOptions, NamingOptions, plan_jobs, run_batch

    verdict = route_mod.Diagnosis("defocus", 0.9, "test") if written else route_mod.Diagnosis("sharp", 0.9, "test")
    monkeypatch.setattr(route_mod, "diagnose", lambda f, cfg=None: verdict)
    fx = _Fakes(map_px, False)
    try:
        src = tmp_path / "p.png"
        Image.fromarray((np.random.default_rng(1).random((24, 32, 3)) * 255).astype(np.uint8)).save(src)
        opts = BatchOptions(extra=("blurmap",))
        [res] = list(run_batch(plan_jobs([str(src)], NamingOptions(), opts.sides), fx.r.batch_process(save_map=True), opts))
        assert res.status == "done" and res.info["route"] == ("defocus" if written else "none")
        m = tmp_path / "p_deblurred_blurmap.png"
        assert m.exists() == written and (tmp_path / "p_deblurred_blurmap_preview.png").exists() == written
        if written:
            a = np.asarray(Image.open(m))
            assert a.dtype == np.uint16 and abs(int(np.median(a)) - 3000) <= 1
        else:
            assert any("no blur map written" in w for w in res.warnings)
    finally:
        fx.close()


def test_auto_is_the_default_unless_a_blind_net_is_named(tmp_path: Path) -> None:
    from deblurcli.api import resolve_method

    assert resolve_method(None) == "auto"
    assert resolve_method(None, model="dpa-compact") == "blind" and resolve_method("auto", model="dpa-compact") == "auto"
    assert resolve_method(None, kernel=np.ones((3, 3))) == "kernel" and resolve_method(None, prior="c.prior") == "dpa"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "p.png")
    for args in (["--save-map", "--method", "blind"], ["--save-map", "--model", "dpa-lite"], ["--save-map", "--ray"]):
        r = runner.invoke(app, route([str(tmp_path / "p.png"), *args]))
        assert r.exit_code == 2 and "--save-map" in r.output, args
    assert not (tmp_path / "p_deblurred.png").exists()


def test_the_defocus_map_is_read_where_the_photo_has_detail() -> None:
    """Over a flat sky the learned map guesses 2-3 px; read there, a sharp photo that was mostly sky
    went to SVBR-Net. ``features`` reads the map where the photo has detail, and a photo with none
    (a flat field) gets no verdict but "other"."""
    from deblurcli.deconv.estimate import KernelEstimate
    from deblurcli.route import features
    from deblurcli.synth.data import dead_leaves

    h, w = 200, 300
    rgb = np.empty((h, w, 3), np.float32)
    rgb[:150] = np.linspace(0.6, 0.8, 150)[:, None, None]  # a smooth sky over three quarters
    rgb[150:] = np.clip(dead_leaves(np.random.default_rng(0), w, n=400), 0, 1)[:50]
    radius = np.full((h, w), 2.6, np.float32)
    radius[150:] = 0.5  # what the map says: sharp where there is detail, a guess over the sky
    est = KernelEstimate(np.eye(1, dtype=np.float32), 0.3, 1.0)
    assert diagnose(features(est, radius)).verdict == "defocus"  # the whole map's median: the sky's guess
    f = features(est, radius, rgb)
    assert f.map_median == pytest.approx(0.5, abs=0.05) and diagnose(f).verdict == "sharp"
    flat = np.full((h, w, 3), 0.02, np.float32)
    d = diagnose(features(est, radius, flat))
    assert (d.verdict, d.route) == ("other", "blind") and "too little detail" in d.reason
