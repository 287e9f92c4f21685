"""Every file a command writes is planned before the work (``plan.Plan``, ``batch.plan_jobs``), and a
side file is written only with its photo. The cases are generated: every kind of side file × every
kind of collision, and the commands that write a fixed set of files (calibrate, chart) × theirs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from deblurcli.batch import SIDE_FILES, BatchOptions, NamingOptions, Restored, plan_jobs, run_batch, side_files
from deblurcli.cli.main import app, route

runner = CliRunner()


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _photo(path: Path, seed: int = 0, size: int = 48) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray((rng.random((size, size + 8, 3)) * 255).astype(np.uint8)).save(path)
    return path


def _fake_process(job, photo, on_tiles) -> Restored:  # type: ignore[no-untyped-def]
    """A restorer that inverts the photo and offers a writer for every side file there is."""
    def text(tag: str):  # type: ignore[no-untyped-def]
        def write(p: Path, overwrite: bool) -> None:
            from deblurcli.io.images import Photo, write_photo

            if p.suffix == ".npy":
                from deblurcli.deconv.psf import write_kernel_npy

                write_kernel_npy(np.eye(3, dtype=np.float32) / 3, p, overwrite)
            else:
                write_photo(Photo(np.full((4, 4, 1), 0.5, np.float32)), p, overwrite=overwrite)
        return write

    whats = [what for kinds in SIDE_FILES.values() for what, _, _ in kinds if what != "compare image"]
    return Restored(1.0 - photo.rgb(), {w: text(w) for w in whats})


SIDES = sorted(SIDE_FILES)


@pytest.mark.parametrize("side", SIDES)
def test_each_side_file_is_written_beside_its_photo_and_an_existing_one_is_kept(tmp_path: Path, side: str) -> None:
    src = _photo(tmp_path / "a.png")
    jobs = plan_jobs([str(src)], NamingOptions(), (side,))
    files = side_files(jobs[0].dest, (side,))
    [res] = list(run_batch(jobs, _fake_process, BatchOptions(extra=(side,)) if side != "compare" else BatchOptions(compare=True)))
    assert res.status == "done" and jobs[0].dest.exists() and all(p.exists() for p in files.values())
    # again, without --overwrite: the photo is gone but a side file is there: nothing is replaced
    jobs[0].dest.unlink()
    before = {p: _digest(p) for p in files.values()}
    opts = BatchOptions(extra=(side,)) if side != "compare" else BatchOptions(compare=True)
    [res] = list(run_batch(plan_jobs([str(src)], NamingOptions(), (side,)), _fake_process, opts))
    assert res.status == "failed" and "exists" in res.reason and not jobs[0].dest.exists()
    assert {p: _digest(p) for p in files.values()} == before


@pytest.mark.parametrize("side", SIDES)
def test_a_killed_batch_resumes_with_skip_existing_keeping_the_side_files_it_wrote(tmp_path: Path, side: str) -> None:
    """Killed after a side file was published, before its photo: --skip-existing finishes the photo."""
    src = _photo(tmp_path / "a.png")
    opts = BatchOptions(skip_existing=True, extra=(side,)) if side != "compare" else BatchOptions(skip_existing=True, compare=True)
    jobs = plan_jobs([str(src)], NamingOptions(), (side,))
    first = next(iter(side_files(jobs[0].dest, (side,)).values()))
    first.write_bytes(b"left by the killed run")
    [res] = list(run_batch(jobs, _fake_process, opts))
    assert res.status == "done" and jobs[0].dest.exists(), res.reason
    assert first.read_bytes() == b"left by the killed run"  # kept, and said so
    assert any("kept the existing" in w for w in res.warnings)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("collision", ["input of the run", "output of another photo", "side file of another photo"])
def test_a_side_file_never_replaces_an_input_or_another_output(tmp_path: Path, side: str, collision: str) -> None:
    a = _photo(tmp_path / "a.png", 1)
    what, ending, ext = SIDE_FILES[side][0]
    naming = NamingOptions(suffix="_deblurred")
    if collision == "input of the run":  # another input has the name of a.png's first side file
        inputs = [str(a), str(_photo(tmp_path / f"a_deblurred{ending}{ext or '.png'}", 2))]
    elif collision == "output of another photo":  # -o out/ --suffix "": a_kernel.png's output is out/a_kernel.png
        naming = NamingOptions(tmp_path / "out", "")
        inputs = [str(a), str(_photo(tmp_path / f"a{ending}{ext or '.png'}", 3))]
    else:  # one photo's side files are also another's: a.png and a.jpg both name a_deblurred_kernel.png
        Image.open(a).save(tmp_path / "a.jpg")
        inputs = [str(a), str(tmp_path / "a.jpg")]
    if collision == "side file of another photo" and ext is None:
        pytest.skip("a compare image takes its photo's extension: a.png and a.jpg get two")
    before = {p: _digest(p) for p in tmp_path.iterdir()}
    opts = BatchOptions(overwrite=True, extra=(side,)) if side != "compare" else BatchOptions(overwrite=True, compare=True)
    jobs = plan_jobs(inputs, naming, (side,))
    bad = [j for j in jobs if j.error]
    assert len(bad) == 1 and ("would replace the input" in bad[0].error or "of this run" in bad[0].error), jobs
    results = list(run_batch(jobs, _fake_process, opts))
    assert sum(r.status == "failed" for r in results) == 1
    for p, d in before.items():  # every input as it was, --overwrite or not
        assert _digest(p) == d, p


def test_the_second_of_two_photos_with_one_kernel_trace_fails_before_any_work(tmp_path: Path) -> None:
    """`deblur same.png same.jpg --method kernel --save-kernel --overwrite`: the second trace replaced the
    first. Now the second photo fails up front and the first is restored with its own trace."""
    img = _photo(tmp_path / "same.png", 4, 64)
    Image.open(img).save(tmp_path / "same.jpg", quality=98)
    k = np.zeros((7, 7), np.float32)
    k[3, 1:6] = 1
    np.save(tmp_path / "k.npy", k / k.sum())
    r = runner.invoke(app, route([str(img), str(tmp_path / "same.jpg"), "--kernel", str(tmp_path / "k.npy"), "--model", "hqs",
                                  "--save-kernel", "--overwrite", "--json", "-q"]))
    assert r.exit_code == 1
    s = json.loads(r.stdout)
    by = {Path(f["input"]).name: f for f in s["files"]}
    assert by["same.png"]["status"] == "done" and by["same.jpg"]["status"] == "failed"
    assert "same_deblurred_kernel.png" in by["same.jpg"]["reason"]
    assert np.load(tmp_path / "same_deblurred_kernel.npy").shape == (5, 5)  # same.png's (trimmed) kernel
    assert not (tmp_path / "same_deblurred.jpg").exists()


def test_a_photo_from_stdin_needs_somewhere_to_go(tmp_path: Path) -> None:
    data = _photo(tmp_path / "p.png").read_bytes()
    r = runner.invoke(app, route(["-"]), input=data)
    assert r.exit_code == 2 and "needs -o" in r.output
    for flag in ("--compare", "--save-kernel"):
        extra = ["--method", "kernel"] if flag == "--save-kernel" else []
        r = runner.invoke(app, route(["-", "-o", "-", flag, *extra]), input=data)
        assert r.exit_code == 2 and flag in r.output and "lost" in r.output


@pytest.mark.parametrize("collision", ["prior is the sharp input", "prior is the blurred input", "preview is an input",
                                       "preview is the prior", "prior exists", "preview exists", "preview not an image",
                                       "prior is a folder"])
def test_calibrate_plans_its_files_before_reading_the_pair(tmp_path: Path, collision: str) -> None:
    sharp, blur = _photo(tmp_path / "sharp.png", 5), _photo(tmp_path / "photo.png", 6)
    (tmp_path / "old.prior").write_bytes(b"an older calibration")
    _photo(tmp_path / "prev.png", 7)
    out, prev, flags = tmp_path / "cam.prior", None, ["--overwrite"]
    if collision == "prior is the sharp input":
        out = sharp
    elif collision == "prior is the blurred input":
        out = blur
    elif collision == "preview is an input":
        prev = sharp
    elif collision == "preview is the prior":
        prev = out
    elif collision == "prior exists":
        out, flags = tmp_path / "old.prior", []
    elif collision == "preview exists":
        prev, flags = tmp_path / "prev.png", []
    elif collision == "prior is a folder":
        out = tmp_path / "priors"
        out.mkdir()
    else:
        prev = tmp_path / "prev.prior"
    before = {p: _digest(p) for p in tmp_path.iterdir() if p.is_file()}
    args = ["calibrate", str(sharp), str(blur), "-o", str(out), *(["--preview", str(prev)] if prev else []), *flags]
    r = runner.invoke(app, route(args))
    assert r.exit_code in (1, 2), r.output
    assert r.output.count("error:") == 1
    assert {p: _digest(p) for p in tmp_path.iterdir() if p.is_file()} == before  # nothing written, nothing replaced


def test_chart_never_replaces_an_existing_file(tmp_path: Path) -> None:
    old = _photo(tmp_path / "chart.png")
    d = _digest(old)
    r = runner.invoke(app, route(["chart", str(old), "--size", "64x48"]))
    assert r.exit_code == 1 and _digest(old) == d
    r = runner.invoke(app, route(["chart", str(old), "--size", "64x48", "--overwrite"]))
    assert r.exit_code == 0 and _digest(old) != d


@pytest.mark.parametrize("used", ["kernel", "blind"])
def test_a_kernel_is_written_only_when_the_photo_was_deconvolved_by_it(tmp_path: Path, used: str) -> None:
    """An estimate that was rejected (the photo went to the blind net) is not written as if it had been used."""
    from deblurcli.api import Restorer
    from deblurcli.deconv.pipeline import KernelResult

    k = np.eye(5, dtype=np.float32) / 5
    r = Restorer.__new__(Restorer)

    def restore_photo(photo, progress=None):  # type: ignore[no-untyped-def]
        r.last = KernelResult(photo.rgb(), k, 0.3, used)
        return photo.rgb()

    r.restore_photo = restore_photo  # type: ignore[method-assign]
    jobs = plan_jobs([str(_photo(tmp_path / "a.png"))], NamingOptions(), ("kernel",))
    [res] = list(run_batch(jobs, r.batch_process(save_kernel=True), BatchOptions(extra=("kernel",))))
    files = side_files(jobs[0].dest, ("kernel",))
    assert res.status == "done"
    if used == "kernel":
        assert all(p.exists() for p in files.values())
        np.testing.assert_allclose(np.load(files["kernel"]), k)
    else:
        assert not any(p.exists() for p in files.values())
        assert any("no kernel trace written" in w for w in res.warnings)


def test_demo_into_a_file_is_refused_and_the_file_kept(tmp_path: Path) -> None:
    f = tmp_path / "notes.txt"
    f.write_text("mine")
    r = runner.invoke(app, route(["demo", "-o", str(f)]))
    assert r.exit_code == 2 and f.read_text() == "mine" and r.output.count("error:") == 1
