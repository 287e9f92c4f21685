"""CLI behaviour on small images the tests make, with tiny registered networks (they restore nothing;
these tests check plumbing: routing, naming, batch robustness, exit codes, JSON)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from deblurcli.cli.main import app, route

runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, route(list(args)))


def _photo(path: Path, size: tuple[int, int] = (48, 40), seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((rng.random((size[1], size[0], 3)) * 255).astype(np.uint8)).save(path, quality=95)
    return path


def test_route_inserts_deblur() -> None:
    assert route(["photo.jpg"]) == ["deblur", "photo.jpg"]
    assert route(["deblur", "photo.jpg"]) == ["deblur", "photo.jpg"]
    assert route(["weights", "list"]) == ["weights", "list"]
    assert route(["--help"]) == ["--help"]


def test_single_photo_default_name(tiny_registry: Path, tmp_path: Path) -> None:
    src = _photo(tmp_path / "photo.jpg")
    r = invoke(str(src), "-q")
    assert r.exit_code == 0, r.output
    out = tmp_path / "photo_deblurred.jpg"
    assert out.exists()
    with Image.open(out) as o:
        assert o.size == (48, 40)
    # A second run refuses to overwrite, and --skip-existing resumes.
    r2 = invoke(str(src), "-q")
    assert r2.exit_code == 1 and "exists" in r2.output
    r3 = invoke("deblur", str(src), "--skip-existing", "--json", "-q")
    assert r3.exit_code == 0
    assert json.loads(r3.stdout)["skipped"] == 1


def test_folder_recursive_mirrors_layout(tiny_registry: Path, tmp_path: Path) -> None:
    _photo(tmp_path / "in" / "a.jpg")
    _photo(tmp_path / "in" / "sub" / "b.png", seed=1)
    r = invoke(str(tmp_path / "in"), "-r", "-o", str(tmp_path / "out"), "-q")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out" / "a_deblurred.jpg").exists()
    assert (tmp_path / "out" / "sub" / "b_deblurred.png").exists()


def test_glob_and_format(tiny_registry: Path, tmp_path: Path) -> None:
    for i in range(2):
        _photo(tmp_path / f"s{i}.jpg", seed=i)
    r = invoke(str(tmp_path / "s*.jpg"), "--format", "png", "-o", str(tmp_path / "o"), "-q", "--json")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["s0_deblurred.png", "s1_deblurred.png"]
    assert json.loads(r.stdout)["done"] == 2


def test_corrupt_file_in_the_middle_does_not_stop_the_batch(tiny_registry: Path, tmp_path: Path) -> None:
    _photo(tmp_path / "in" / "1.jpg")
    (tmp_path / "in" / "2.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (tmp_path / "in" / "3.png").write_bytes(b"")
    _photo(tmp_path / "in" / "4.jpg", seed=4)
    r = invoke(str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--json", "-q")
    assert r.exit_code == 1
    s = json.loads(r.stdout)
    assert s["done"] == 2 and s["failed"] == 2
    failed = {Path(f["input"]).name: f["reason"] for f in s["files"] if f["status"] == "failed"}
    assert set(failed) == {"2.jpg", "3.png"} and "empty" in failed["3.png"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["1_deblurred.jpg", "4_deblurred.jpg"]


def test_compare_and_strength_zero_is_identity(tiny_registry: Path, tmp_path: Path) -> None:
    src = tmp_path / "p.png"
    _photo(tmp_path / "p.jpg").rename(src) if False else Image.open(_photo(tmp_path / "p.jpg")).save(src)
    r = invoke(str(src), "--strength", "0", "--compare", "-q")
    assert r.exit_code == 0, r.output
    assert np.array_equal(np.asarray(Image.open(tmp_path / "p_deblurred.png")), np.asarray(Image.open(src)))
    with Image.open(tmp_path / "p_deblurred_compare.png") as c:
        assert c.size == (48 * 2 + 8, 40)


def test_cuda_graph_option_leaves_a_cpu_run_unchanged(tiny_registry: Path, tmp_path: Path) -> None:
    src = tmp_path / "p.png"
    Image.open(_photo(tmp_path / "p.jpg")).save(src)
    assert invoke(str(src), "-o", str(tmp_path / "plain.png"), "--device", "cpu", "-q").exit_code == 0
    r = invoke(str(src), "-o", str(tmp_path / "graph.png"), "--device", "cpu", "--cuda-graph", "-q")
    assert r.exit_code == 0, r.output
    plain, graph = (np.asarray(Image.open(tmp_path / n)) for n in ("plain.png", "graph.png"))
    assert np.array_equal(plain, graph) and not np.array_equal(plain, np.asarray(Image.open(src)))


def test_never_overwrites_input(tiny_registry: Path, tmp_path: Path) -> None:
    src = _photo(tmp_path / "x.jpg")
    before = src.read_bytes()
    r = invoke(str(src), "--suffix", "", "--overwrite", "-q")
    assert r.exit_code == 1 and "replace the input" in r.output
    assert src.read_bytes() == before


def test_usage_errors_exit_2(tiny_registry: Path, tmp_path: Path) -> None:
    src = _photo(tmp_path / "x.jpg")
    assert invoke(str(src), "--overwrite", "--skip-existing").exit_code == 2
    assert invoke(str(src), "--model", "no-such-model").exit_code == 2
    assert invoke(str(tmp_path / "*.nothing")).exit_code == 2
    r = invoke(str(src), "--tile", "7")
    assert r.exit_code == 2 and "--tile" in r.output


def test_weights_list_info_verify_path(tiny_registry: Path) -> None:
    r = invoke("weights", "list", "--json")
    assert r.exit_code == 0, r.output
    rows = {row["id"]: row for row in json.loads(r.stdout)}
    assert rows["tiny-dpa"]["verified"] is True and "deblur" in rows["tiny-dpa"]["default_for"]
    info = json.loads(invoke("weights", "info", "tiny-lcnet").stdout)
    assert info["arch"] == "lcnet" and info["params"] > 0 and info["gflop_per_mp"] > 0
    assert invoke("weights", "verify").exit_code == 0
    p = invoke("weights", "path", "tiny-svbr").stdout.strip()
    assert p.endswith("tiny-svbr.safetensors")
    # Tamper with a file: verify now fails and names it.
    Path(p).write_bytes(Path(p).read_bytes() + b"x")
    r = invoke("weights", "verify")
    assert r.exit_code == 1 and "MISMATCH" in r.output
    assert invoke("weights", "pull", "tiny-svbr").exit_code == 1


def test_demo_runs_offline(tiny_registry: Path, tmp_path: Path) -> None:
    r = invoke("demo", "-o", str(tmp_path / "d"))
    assert r.exit_code == 0, r.output
    for k in ("sharp", "blurred", "restored", "compare"):
        assert (tmp_path / "d" / f"{k}.png").exists()
    assert "PSNR" in r.output and "confidence" in r.output and "→" in r.output  # the route the default took
    assert "blind net alone (tiny-dpa)" in r.output
    assert invoke("demo", "-o", str(tmp_path / "d")).exit_code == 1  # no silent overwrite


def test_bench_routes_times_the_diagnosis_and_each_route(tiny_registry: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    r = invoke("bench", "--routes", "--size", "160x120", "--runs", "1", "--json-file", str(out))
    assert r.exit_code == 0, r.output
    [row] = json.loads(out.read_text())["routes"]
    assert row["size"] == "160x120" and "→" in row["diagnosis"]
    assert abs(row["diagnosis_s"] - (row["map_s"] + row["kernel_estimate_s"] + row["rule_s"])) < 1e-9
    e2e = row["end_to_end_s"]
    assert e2e["none"] == row["diagnosis_s"] and e2e["kernel"] == row["diagnosis_s"] + row["kernel_route_s"]
    assert e2e["defocus"] > row["defocus_route_s"] > 0 and e2e["blind"] > row["blind_s"] > 0
    assert "× blind net" in r.output


def test_bench_json_has_timing_and_machine(tiny_registry: Path, tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    r = invoke("bench", "--model", "tiny-lcnet", "--size", "96x64", "--runs", "2", "--warmup", "0", "--json-file", str(out))
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())
    assert d["machine"]["cores"] and d["matmul_peak_gflops"]["float32"] > 0
    row = d["results"][0]
    assert row["model"] == "tiny-lcnet" and row["size"] == "96x64" and row["ms_median"] > 0 and row["gflop_per_mp"] > 0
    assert row["peak_mb"] > 10


def test_bench_quality_on_procedural_scenes(tiny_registry: Path, tmp_path: Path) -> None:
    out = tmp_path / "q.json"
    r = invoke("bench", "--quality", "--model", "tiny-lcnet", "--count", "2", "--json-file", str(out))
    assert r.exit_code == 0, r.output
    q = json.loads(out.read_text())["quality"]
    assert set(q) >= {"blurry input", "unsharp mask", "Wiener (true kernel)", "tiny-lcnet"}
    # Wiener with the true kernel is a strong baseline on motion blur: it must beat the blurry input.
    assert q["Wiener (true kernel)"]["motion"]["psnr"] > q["blurry input"]["motion"]["psnr"]
    # Already-sharp photos are also scored against the input itself (the "does no harm" bar); the input
    # has no such score, and unsharp masking visibly changes a photo.
    assert "sharp vs input" not in q["blurry input"] and "sharp vs input" in q["tiny-lcnet"]
    assert 20 < q["unsharp mask"]["sharp vs input"]["psnr"] < 60
    # the default command is scored beside the models, with the routes it took on each set
    from deblurcli.evaluation import ROUTED

    routes = json.loads(out.read_text())["routes"]
    assert set(q[ROUTED]) >= {"motion", "lens", "defocus", "sharp"} and set(routes) == {"motion", "lens", "defocus", "sharp"}
    assert all(sum(c.values()) == 2 and set(c) <= {"none", "kernel", "defocus", "blind"} for c in routes.values())
    assert "routes the default took" in r.output


def test_weights_option_loads_a_users_own_file(tiny_registry: Path, tmp_path: Path) -> None:
    from deblurcli.archs import build
    from deblurcli.models import store

    from .conftest import TINY, perturb

    mine = tmp_path / "mine.safetensors"
    store.save(perturb(build("lcnet", TINY["lcnet"]), scale=0.01), mine)
    src = _photo(tmp_path / "p.jpg")
    r = invoke(str(src), "--weights", str(mine), "-q")
    assert r.exit_code == 0, r.output
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    r2 = invoke(str(src), "--weights", str(bad), "--overwrite")
    assert r2.exit_code == 1 and "not a readable safetensors" in r2.output


def test_help_does_not_import_torch() -> None:
    """`deblur --help` stays fast, and the first photo can decode while torch imports (batch.Reader)."""
    code = "import sys; from deblurcli.cli.main import app, route; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_entry_point_exit_codes_and_output_survive_the_fast_exit(tiny_registry: Path, tmp_path: Path) -> None:
    """run() skips torch's interpreter teardown (os._exit): statuses and printed output must survive it."""
    src = _photo(tmp_path / "p.jpg")
    cmd = [sys.executable, "-m", "deblurcli.cli"]
    ok = subprocess.run([*cmd, str(src), "--json"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["done"] == 1  # the whole JSON document was flushed
    assert (tmp_path / "p_deblurred.jpg").exists()
    again = subprocess.run([*cmd, str(src), str(tmp_path / "missing.jpg")], capture_output=True, text=True)
    assert again.returncode == 1
    assert "missing.jpg" in again.stderr + again.stdout and "exists" in again.stderr + again.stdout
    usage = subprocess.run([*cmd, str(src), "--model", "no-such-id"], capture_output=True, text=True)
    assert usage.returncode != 0 and "no-such-id" in usage.stderr + usage.stdout


def test_chart_command_writes_a_lossless_chart_and_never_overwrites(tmp_path: Path) -> None:
    dest = tmp_path / "chart.png"
    r = invoke("chart", str(dest), "--size", "96x64", "--seed", "2")
    assert r.exit_code == 0, r.output
    a = np.asarray(Image.open(dest))
    assert a.shape == (64, 96, 3) and a.std() > 40  # texture everywhere, not a flat image
    before = dest.read_bytes()
    r = invoke("chart", str(dest), "--size", "96x64", "--seed", "3")
    assert r.exit_code != 0 and "--overwrite" in r.output and dest.read_bytes() == before
    assert invoke("chart", str(dest), "--size", "96x64", "--seed", "3", "--overwrite").exit_code == 0
    assert dest.read_bytes() != before
    r = invoke("chart", str(tmp_path / "chart.jpg"), "--size", "96x64")
    assert r.exit_code != 0 and "lossless" in r.output and not (tmp_path / "chart.jpg").exists()
    assert invoke("chart", str(tmp_path / "c2.png"), "--size", "96by64").exit_code != 0
