"""Batches never take their own outputs as inputs, `--skip-existing` resumes exactly, and a killed
run's hidden temporary files are cleaned."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from deblurcli.batch import NamingOptions, is_our_output, plan_jobs
from deblurcli.cli.main import app, route
from deblurcli.io.images import clean_stale_parts

runner = CliRunner()


def _photos(folder: Path, n: int = 3) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = folder / f"p{i}.jpg"
        Image.fromarray((np.random.default_rng(i).random((40, 48, 3)) * 255).astype(np.uint8)).save(p)
        out.append(p)
    return out


def _state(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_a_rerun_in_place_writes_nothing_new(tiny_registry: Path, tmp_path: Path) -> None:
    _photos(tmp_path / "shots")
    r = runner.invoke(app, route([str(tmp_path / "shots"), "--compare", "-q"]))
    assert r.exit_code == 0, r.output
    before = _state(tmp_path / "shots")
    assert len(before) == 9  # 3 photos, 3 outputs, 3 compare images
    r = runner.invoke(app, route([str(tmp_path / "shots"), "--compare", "--skip-existing", "-q", "--json"]))
    assert r.exit_code == 0, r.output
    assert _state(tmp_path / "shots") == before
    assert "_deblurred_deblurred" not in r.output


def test_our_outputs_are_recognised_and_named_files_still_taken(tmp_path: Path) -> None:
    assert is_our_output(Path("a_deblurred.jpg"), "_deblurred")
    assert is_our_output(Path("a_deblurred_compare.jpg"), "_deblurred")
    assert is_our_output(Path("a_defocused_blurmap_preview.png"), "_defocused")
    assert is_our_output(Path("a_sharp.png"), "_sharp")
    assert not is_our_output(Path("deblurred_holiday.jpg"), "_deblurred")
    _photos(tmp_path)
    (tmp_path / "p0_deblurred.jpg").write_bytes((tmp_path / "p0.jpg").read_bytes())
    jobs = plan_jobs([str(tmp_path)], NamingOptions())
    assert sorted(j.src.name for j in jobs) == ["p0.jpg", "p1.jpg", "p2.jpg"]
    jobs = plan_jobs([str(tmp_path / "p0_deblurred.jpg")], NamingOptions())  # asked for by name: taken
    assert [j.src.name for j in jobs] == ["p0_deblurred.jpg"]


def test_an_output_folder_inside_the_inputs_is_not_walked(tiny_registry: Path, tmp_path: Path) -> None:
    _photos(tmp_path / "shots")
    out = tmp_path / "shots" / "out"
    out.mkdir()
    (out / "other.jpg").write_bytes((tmp_path / "shots" / "p0.jpg").read_bytes())
    jobs = plan_jobs([str(tmp_path / "shots")], NamingOptions(output=out, recursive=True))
    assert sorted(j.src.name for j in jobs) == ["p0.jpg", "p1.jpg", "p2.jpg"]


def test_a_killed_runs_part_files_are_cleaned_and_live_ones_kept(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f".p0_deblurred.jpg.{dead.pid}.abc123.part"
    live = tmp_path / ".p1_deblurred.jpg.1.def456.part"  # pid 1 (init) is alive
    fresh = tmp_path / f".p2_deblurred.jpg.{dead.pid}.ghi789.part"
    other = tmp_path / ".notes.part"
    for f in (stale, live, fresh, other):
        f.write_bytes(b"x")
    old = time.time() - 3600
    for f in (stale, live, other):
        os.utime(f, (old, old))
    assert clean_stale_parts(tmp_path) == [stale]
    assert live.exists() and fresh.exists() and other.exists() and not stale.exists()


def test_a_folder_of_bmp_and_gif_files_says_how_to_take_them(tmp_path: Path) -> None:
    """A folder run leaves graphics formats out; when that leaves nothing, the hint names them and gives a
    pattern that takes them (the pattern then finds the file)."""
    import pytest

    from deblurcli.errors import UsageError

    img = Image.fromarray((np.random.default_rng(0).random((40, 48, 3)) * 255).astype(np.uint8))
    img.save(tmp_path / "a.bmp")
    img.save(tmp_path / "b.gif")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(UsageError) as e:
        plan_jobs([str(tmp_path)], NamingOptions())
    hint = e.value.hint
    assert ".bmp, .gif" in hint and ".txt" not in hint
    pattern = hint.split('"')[1]
    assert [j.src.name for j in plan_jobs([pattern], NamingOptions())] == ["a.bmp"]
    (tmp_path / "notes.txt").unlink()
    (tmp_path / "a.bmp").unlink()
    (tmp_path / "b.gif").unlink()
    with pytest.raises(UsageError) as e:
        plan_jobs([str(tmp_path)], NamingOptions())
    assert "glob patterns" in e.value.hint


def test_o_naming_a_file_with_several_inputs_is_refused_not_made_a_folder(tmp_path: Path) -> None:
    """`-o out.png` with two inputs once made a FOLDER named out.png; now it is a usage error that says
    to give a folder, and nothing is created. An existing folder of that name is still a folder."""
    import pytest

    from deblurcli.errors import UsageError

    srcs = _photos(tmp_path / "in", 2)
    with pytest.raises(UsageError, match="names one file") as e:
        plan_jobs([str(p) for p in srcs], NamingOptions(output=tmp_path / "out.png"))
    assert "folder" in e.value.hint and not (tmp_path / "out.png").exists()
    r = runner.invoke(app, route([*map(str, srcs), "-o", str(tmp_path / "out.png")]))
    assert r.exit_code == 2 and not (tmp_path / "out.png").exists()
    (tmp_path / "out.png").mkdir()
    jobs = plan_jobs([str(p) for p in srcs], NamingOptions(output=tmp_path / "out.png"))
    assert [j.dest.parent.name for j in jobs] == ["out.png", "out.png"]
    assert [j.dest.name for j in plan_jobs([str(srcs[0])], NamingOptions(output=tmp_path / "one.png"))] == ["one.png"]


def test_a_photo_named_twice_is_restored_once_and_a_real_clash_says_what_to_do(tmp_path: Path) -> None:
    """`deblur "*.jpg" p0.jpg` named p0.jpg twice; its second job failed as a clash with its own output
    and the run exited 1 though nothing was wrong. Now it is one job. Two different photos that would
    share an output (the same name in two folders, -o one folder) still clash, with what to do."""
    srcs = _photos(tmp_path / "in", 2)
    jobs = plan_jobs([str(tmp_path / "in" / "*.jpg"), str(srcs[0]), str(tmp_path / "in")], NamingOptions())
    assert sorted(j.src.name for j in jobs) == ["p0.jpg", "p1.jpg"] and not any(j.error for j in jobs)
    one = plan_jobs([str(srcs[0]), str(srcs[0])], NamingOptions(output=tmp_path / "one.png"))  # -o FILE: one input
    assert [(j.src, j.dest) for j in one] == [(srcs[0], tmp_path / "one.png")]
    other = _photos(tmp_path / "other", 1)
    jobs = plan_jobs([str(tmp_path / "in"), str(tmp_path / "other")], NamingOptions(output=tmp_path / "out"))
    clash = [j for j in jobs if j.error]
    assert [j.src for j in clash] == other and "its own -o folder" in clash[0].error
