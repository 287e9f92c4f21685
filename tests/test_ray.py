"""Batches on Ray (`deblur … --ray`, ``deblurcli.ray``): planned and named as the local batch plans
them, outputs equal to the local batch's, URIs through pyarrow's filesystems, a killed worker's files
retried with nothing half-written and every input counted once. The pipeline tests share one local Ray
of 2 CPUs; the planning and storage tests need no Ray at all."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from deblurcli.archs import build
from deblurcli.batch import BatchOptions, FileResult, NamingOptions, run_batch
from deblurcli.cli.main import app, route
from deblurcli.errors import OutputExistsError
from deblurcli.models import store
from deblurcli.ray.pipeline import EARLIER, ClusterOptions, Ledger, run_item, run_items
from deblurcli.ray.plan import Item, plan, settle
from deblurcli.ray.storage import is_uri, list_images, upload

from .conftest import TINY, perturb

runner = CliRunner()


def _photos(folder: Path, n: int, side: int = 48) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = folder / f"p{i:02d}.png"
        Image.fromarray((np.random.default_rng(i).random((side, side + 8, 3)) * 255).astype(np.uint8)).save(p)
        out.append(p)
    return out


def _tiny_weights(tmp_path: Path) -> Path:
    f = tmp_path / "tiny-dpa.safetensors"
    store.save(perturb(build("dpa", TINY["dpa"]), scale=0.01), f)
    return f


def _halve(job, photo, on_tiles):  # type: ignore[no-untyped-def]
    return photo.rgb() * np.float32(0.5)


# ------------------------------------------------------------------------------ no Ray needed

def test_uri_inputs_are_planned_as_local_folders_are(tmp_path: Path) -> None:
    _photos(tmp_path / "in" / "sub", 2)
    _photos(tmp_path / "in", 2)
    (tmp_path / "in" / "p00_deblurred.png").write_bytes((tmp_path / "in" / "p00.png").read_bytes())  # ours
    (tmp_path / "in" / ".hidden.png").write_bytes(b"x")
    (tmp_path / "in" / "notes.txt").write_text("x")
    uri = f"file://{tmp_path}/in"
    assert is_uri(uri) and not is_uri(str(tmp_path)) and not is_uri(None)
    names = [u.rsplit("/", 1)[-1] for u, _ in list_images(uri, recursive=True, suffix="_deblurred")]
    assert names == ["p00.png", "p01.png", "p00.png", "p01.png"]  # sorted paths: in/p0*, then in/sub/p0*
    items = plan([uri], f"file://{tmp_path}/out", NamingOptions(recursive=True, format="jpg"))
    assert [i.dest for i in items] == [f"file://{tmp_path}/out/p00_deblurred.jpg", f"file://{tmp_path}/out/p01_deblurred.jpg",
                                       f"file://{tmp_path}/out/sub/p00_deblurred.jpg", f"file://{tmp_path}/out/sub/p01_deblurred.jpg"]
    beside = plan([f"{uri}/p01.png"], None, NamingOptions())
    assert beside == [Item(f"{uri}/p01.png", f"{uri}/p01_deblurred.png")]
    local = plan([str(tmp_path / "in")], str(tmp_path / "o"), NamingOptions())  # all local: batch.plan_jobs
    assert [Path(i.dest).name for i in local] == ["p00_deblurred.png", "p01_deblurred.png"]


def test_settled_items_follow_the_local_rules(tmp_path: Path) -> None:
    _photos(tmp_path / "in", 2)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "p00_deblurred.png").write_bytes(b"theirs")
    uri_items = plan([f"file://{tmp_path}/in"], f"file://{tmp_path}/out", NamingOptions())
    settled, todo = settle(uri_items, BatchOptions(skip_existing=True))
    assert [(r.status, Path(str(r.src)).name) for r in settled] == [("skipped", "p00.png")]
    assert [i.src.rsplit("/", 1)[-1] for i in todo] == ["p01.png"]
    settled, todo = settle(uri_items, BatchOptions())
    assert settled[0].status == "failed" and "exists" in settled[0].reason and len(todo) == 1
    local = plan([str(tmp_path / "in")], str(tmp_path / "out"), NamingOptions())
    settled, todo = settle(local, BatchOptions(overwrite=True))
    assert settled == [] and len(todo) == 2


def test_existing_outputs_are_found_by_one_listing_per_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from deblurcli.ray import storage

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.png").write_bytes(b"1")
    (tmp_path / "a" / "y.png").mkdir()  # a folder of that name is not an output
    base = f"file://{tmp_path}"
    targets = [f"{base}/a/x.png", f"{base}/a/y.png", f"{base}/a/z.png", f"{base}/missing/x.png"]
    calls: list[str] = []
    real = storage._fs
    monkeypatch.setattr(storage, "_fs", lambda uri: (calls.append(uri), real(uri))[1])
    assert storage.existing(targets) == {f"{base}/a/x.png"}
    assert sorted(calls) == [f"{base}/a", f"{base}/missing"]


def test_upload_keeps_an_existing_object_and_leaves_no_temporary(tmp_path: Path) -> None:
    src = tmp_path / "a.png"
    src.write_bytes(b"new")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.png").write_bytes(b"theirs")
    with pytest.raises(OutputExistsError):
        upload(src, f"file://{tmp_path}/out/a.png", overwrite=False)
    assert (tmp_path / "out" / "a.png").read_bytes() == b"theirs"
    upload(src, f"file://{tmp_path}/out/deep/b.png", overwrite=False)
    assert (tmp_path / "out" / "deep" / "b.png").read_bytes() == b"new"
    assert not [p for p in (tmp_path / "out").rglob(".*")]  # the hidden .part was renamed into place


def test_a_uri_item_is_fetched_restored_and_uploaded_whole(tmp_path: Path) -> None:
    _photos(tmp_path / "in", 1)
    item = plan([f"file://{tmp_path}/in/p00.png"], f"file://{tmp_path}/out", NamingOptions())[0]
    res = run_item(item, _halve, BatchOptions(compare=True))
    assert res.status == "done", res.reason
    assert res.src == item.src and res.dest == item.dest and res.size == (56, 48)
    a = np.asarray(Image.open(tmp_path / "in" / "p00.png"), np.float32)
    b = np.asarray(Image.open(tmp_path / "out" / "p00_deblurred.png"), np.float32)
    assert np.abs(b - a * 0.5).max() <= 1.0
    assert (tmp_path / "out" / "p00_deblurred_compare.png").is_file()  # what goes beside it, uploaded too
    # A retry after its worker died once the output was published: kept, counted done, not redone.
    before = (tmp_path / "out" / "p00_deblurred.png").stat().st_mtime_ns
    again = run_item(item, _halve, BatchOptions())
    assert again.status == "done" and again.reason == EARLIER
    assert (tmp_path / "out" / "p00_deblurred.png").stat().st_mtime_ns == before
    missing = run_item(Item(f"file://{tmp_path}/in/gone.png", f"file://{tmp_path}/out/gone_deblurred.png"), _halve, BatchOptions())
    assert missing.status == "failed" and "gone.png" in missing.reason


def test_the_ledger_bounds_the_retries_of_one_file() -> None:
    led = Ledger(retries=2)
    assert [led.begin("a.png") for _ in range(4)] == [True, True, True, False]
    assert led.begin("b.png")


# ------------------------------------------------------------------------------ on a local Ray

@pytest.fixture(scope="module")
def ray_local():  # type: ignore[no-untyped-def]
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    yield ray
    ray.shutdown()


def _pixels(p: Path) -> np.ndarray:
    return np.asarray(Image.open(p).convert("RGB"), np.float32)


def test_ray_outputs_equal_the_local_batch(ray_local, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    weights = _tiny_weights(tmp_path)
    photos = _photos(tmp_path / "in", 5)
    (tmp_path / "in" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    from deblurcli.api import load
    from deblurcli.batch import plan_jobs

    jobs = plan_jobs([str(tmp_path / "in")], NamingOptions(tmp_path / "local"))
    restorer = load(weights=weights, device="cpu")
    local = list(run_batch(jobs, restorer.batch_process(), BatchOptions()))
    assert sorted(r.status for r in local) == ["done"] * 5 + ["failed"]
    made_by: dict = {}
    results = list(run_items(plan([str(tmp_path / "in")], str(tmp_path / "ray"), NamingOptions()),
                             load_args={"weights": str(weights), "device": "cpu"}, cluster=ClusterOptions(workers=2),
                             made_by=made_by))
    assert sorted(Path(str(r.src)).name for r in results) == sorted(Path(str(r.src)).name for r in local)
    bad = [r for r in results if r.status == "failed"]
    assert [Path(str(r.src)).name for r in bad] == ["broken.png"] and "broken.png" in bad[0].reason
    for p in photos:
        a, b = _pixels(tmp_path / "local" / f"{p.stem}_deblurred.png"), _pixels(tmp_path / "ray" / f"{p.stem}_deblurred.png")
        assert np.abs(a - b).max() <= 2.0
    assert made_by["cluster"]["workers"] == 2 and made_by["device"] == "cpu" and len(made_by["sha256"]) == 64
    assert not [p for p in (tmp_path / "ray").iterdir() if p.name.startswith(".")]


def _worker_pids() -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if b"MapWorker" in (d / "cmdline").read_bytes():
                    pids.append(int(d.name))
            except OSError:
                continue
    return pids


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the worker processes in /proc")
def test_a_worker_killed_mid_batch_loses_nothing(ray_local, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    weights = _tiny_weights(tmp_path)
    photos = _photos(tmp_path / "in", 40, side=160)
    items = plan([str(tmp_path / "in")], str(tmp_path / "out"), NamingOptions())
    killed: list[int] = []
    results: list[FileResult] = []
    for res in run_items(items, load_args={"weights": str(weights), "device": "cpu"}, cluster=ClusterOptions(workers=2)):
        results.append(res)
        if len(results) == 3 and not killed:
            pids = _worker_pids()
            assert pids, "no Ray worker process found"
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])
    assert killed
    assert len(results) == 40 and len({str(r.src) for r in results}) == 40  # each photo counted once
    assert all(r.status == "done" for r in results), [r.reason for r in results if r.status != "done"]
    for p in photos:
        out = tmp_path / "out" / f"{p.stem}_deblurred.png"
        assert Image.open(out).size == (168, 160)  # complete and decodable
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(f"{p.stem}_deblurred.png" for p in photos)


def test_the_cli_runs_a_folder_on_ray(ray_local, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    weights = _tiny_weights(tmp_path)
    _photos(tmp_path / "in", 3)
    args = [str(tmp_path / "in"), "-o", f"file://{tmp_path}/out", "--ray", "--weights", str(weights), "--device", "cpu", "--json", "-q"]
    r = runner.invoke(app, route(args))
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert (summary["done"], summary["failed"]) == (3, 0) and summary["cluster"]["workers"] >= 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["p00_deblurred.png", "p01_deblurred.png", "p02_deblurred.png"]
    r = runner.invoke(app, route(args[:-2] + ["-q"]))  # again: every output exists
    assert r.exit_code == 1 and "exists" in r.output


def test_uris_without_ray_get_a_hint(tmp_path: Path) -> None:
    r = runner.invoke(app, route([str(tmp_path), "-o", "s3://bucket/out"]))
    assert r.exit_code == 2 and "--ray" in r.output


def test_without_ray_the_cli_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "ray.data", None)  # as if Ray Data were not installed
    r = runner.invoke(app, route([str(tmp_path), "--ray"]))
    assert r.exit_code == 2 and "deblurcli[cluster]" in r.output
