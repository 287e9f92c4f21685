"""What the photo commands hand out besides pictures: --json provenance, bench's --json on stdout and
--json-file, --strip-metadata, refused output formats, the completion script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from deblurcli import __version__
from deblurcli.cli.main import app, route

runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, route(list(args)))


def _photo(path: Path) -> Path:
    e = Image.Exif()
    e[0x010F] = "Cam"
    e.get_ifd(0x8825)[2] = (48.0, 51.0, 30.0)  # GPS latitude
    Image.fromarray((np.random.default_rng(0).random((40, 48, 3)) * 255).astype(np.uint8)).save(path, exif=e.tobytes())
    return path


def test_json_carries_provenance(tiny_registry: Path, tmp_path: Path) -> None:
    r = invoke(str(_photo(tmp_path / "a.jpg")), "--json", "-q", "--device", "cpu")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["version"] == __version__ and s["model"] == "tiny-dpa" and len(s["sha256"]) == 64
    assert s["device"] == "cpu" and s["precision"] in ("bfloat16", "float32") and "tile" in s
    assert s["files"][0]["size"] == [48, 40]


def test_bench_json_goes_to_stdout_and_json_file_to_a_file(tiny_registry: Path, tmp_path: Path) -> None:
    f = tmp_path / "b.json"
    r = invoke("bench", "--model", "tiny-lcnet", "--size", "64x48", "--runs", "1", "--warmup", "0", "--json", "--json-file", str(f))
    assert r.exit_code == 0, r.output
    assert json.loads(f.read_text())["results"][0]["model"] == "tiny-lcnet"
    start = r.stdout.index("{")
    assert json.loads(r.stdout[start:])["results"]


def test_strip_metadata_drops_exif_and_gps(tiny_registry: Path, tmp_path: Path) -> None:
    src = _photo(tmp_path / "a.jpg")
    assert Image.open(src).getexif().get_ifd(0x8825)
    r = invoke(str(src), "--strip-metadata", "-q")
    assert r.exit_code == 0, r.output
    out = Image.open(tmp_path / "a_deblurred.jpg")
    assert not out.getexif() and not out.getexif().get_ifd(0x8825)
    r = invoke(str(src), "-o", str(tmp_path / "kept.jpg"), "-q")
    assert Image.open(tmp_path / "kept.jpg").getexif().get(0x010F) == "Cam"


def test_an_output_format_we_cannot_write_is_refused(tiny_registry: Path, tmp_path: Path) -> None:
    r = invoke(str(_photo(tmp_path / "a.jpg")), "-o", str(tmp_path / "out.gif"))
    assert r.exit_code == 2
    assert ".jpg" in r.output and not list(tmp_path.glob("out*"))


def test_completion_script_is_generated() -> None:
    env = os.environ | {"_DEBLUR_COMPLETE": "source_bash"}
    r = subprocess.run([sys.executable, "-c", "from deblurcli.cli.main import run; import sys; sys.argv[0] = 'deblur'; run()"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert "_deblur_completion" in r.stdout and "complete" in r.stdout


@pytest.mark.parametrize(("words", "cword", "expect"), [("deblur photo.jpg --ray-w", 2, "--ray-workers"),
                                                       ("deblur we", 1, "weights"),
                                                       ("deblur deblur photo.jpg --save-k", 3, "--save-kernel")])
def test_completion_completes_the_default_command_without_its_name(words: str, cword: int, expect: str) -> None:
    """`deblur photo.jpg` is the default command inside click's parsing, so completion sees it too."""
    env = os.environ | {"_DEBLUR_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    r = subprocess.run([sys.executable, "-c", "from deblurcli.cli.main import run; import sys; sys.argv[0] = 'deblur'; run()"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == [expect], r.stdout + r.stderr


def test_the_default_command_needs_no_routing_and_its_usage_says_so(tiny_registry: Path, tmp_path: Path) -> None:
    from deblurcli.cli.main import app

    src = _photo(tmp_path / "a.jpg")
    r = CliRunner().invoke(app, [str(src), "-q"])  # no argv rewriting before click
    assert r.exit_code == 0, r.output
    assert (tmp_path / "a_deblurred.jpg").is_file()
    r = CliRunner().invoke(app, ["-o", str(tmp_path / "x.jpg")], prog_name="deblur")  # an option first, no input
    assert r.exit_code == 2 and "Usage: deblur [deblur] [OPTIONS] INPUTS..." in r.output


def test_every_help_fits_80_columns_with_no_cut_names() -> None:
    for cmd in ([], ["deblur"], ["defocus"], ["calibrate"], ["chart"], ["bench"], ["demo"], ["train"], ["weights"]):
        r = subprocess.run([sys.executable, "-c", "from deblurcli.cli.main import run; import sys; sys.argv[0] = 'deblur'; run()",
                            *cmd, "--help"], env=os.environ | {"COLUMNS": "80", "TERM": "dumb"}, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        text = r.stdout
        assert "…" not in text, (cmd, [line for line in text.splitlines() if "…" in line])
        assert max(len(line) for line in text.splitlines()) <= 80, cmd


def test_a_line_per_file_when_stderr_is_not_a_terminal(tiny_registry: Path, tmp_path: Path) -> None:
    for i in range(3):
        _photo(tmp_path / f"p{i}.jpg")
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    r = subprocess.run([sys.executable, "-c", "from deblurcli.cli.main import run; import sys; sys.argv[0] = 'deblur'; run()",
                        str(tmp_path)], env=os.environ | {"COLUMNS": "200"}, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    lines = [line for line in r.stderr.splitlines() if line.startswith("[")]
    assert [line.split()[0] for line in lines] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"], r.stderr
    assert sum(" done " in line for line in lines) == 3 and sum(" failed " in line for line in lines) == 1


def test_stdin_to_stdout(tiny_registry: Path, tmp_path: Path) -> None:
    src = _photo(tmp_path / "a.jpg")
    cmd = [sys.executable, "-c", "from deblurcli.cli.main import run; import sys; sys.argv[0] = 'deblur'; run()"]
    r = subprocess.run([*cmd, "-", "-o", "-", "-q"], input=src.read_bytes(), capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    import io

    out = Image.open(io.BytesIO(r.stdout))
    assert out.format == "JPEG" and out.size == (48, 40) and out.getexif().get(0x010F) == "Cam"
    r = subprocess.run([*cmd, "-", "-o", str(tmp_path / "piped.png"), "-q"], input=src.read_bytes(), capture_output=True, timeout=120)
    assert r.returncode == 0 and Image.open(tmp_path / "piped.png").size == (48, 40)
    r = subprocess.run([*cmd, "-", "-o", "-", "--json"], input=src.read_bytes(), capture_output=True, timeout=120)
    assert r.returncode == 2 and json.loads(r.stdout)["status"] == "error"  # --json: the error, no photo


def test_brackets_in_file_names_and_hints_are_printed_as_they_are(tiny_registry: Path, tmp_path: Path) -> None:
    """Rich markup would eat `[red]` in a file name and `[cluster]` in a hint."""
    from deblurcli.cli.main import app

    bad = tmp_path / "shot[red].jpg"
    bad.write_bytes(b"not a photo")  # fails alone, and its name is printed
    wide = {"COLUMNS": "400"}  # rich wraps at the terminal's width, and tmp_path's length varies
    r = CliRunner().invoke(app, [str(bad)], env=wide)
    assert r.exit_code == 1 and "shot[red].jpg" in r.output
    r = CliRunner().invoke(app, [str(tmp_path / "missing[bold].jpg")], env=wide)  # a pattern that matches nothing
    assert r.exit_code == 2 and "missing[bold].jpg" in r.output
