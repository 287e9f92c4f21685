"""Errors: one line (and a hint) found before the work; a hint names only options its command has; with
--json every run prints one JSON object on stdout, success or failure."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from deblurcli.cli.main import app, route

runner = CliRunner()


def _options(command: str) -> set[str]:
    group = typer.main.get_command(app)
    cmd = group.commands[command]  # type: ignore[attr-defined]
    return {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}


def _cases(tmp: Path) -> list[tuple[str, list[str]]]:
    p = tmp / "p.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(p)
    Image.fromarray(np.ones((16, 16, 3), np.uint8)).save(tmp / "q.png")
    (tmp / "dir").mkdir(exist_ok=True)
    return [
        ("deblur", [str(p), "-o", "-", "--json"]),
        ("deblur", [str(p), "--save-kernel", "--method", "blind"]),
        ("deblur", [str(p), "--save-map", "--method", "kernel"]),
        ("defocus", ["defocus", str(p), "--space", "gamma"]),
        ("deblur", [str(p), "--method", "psf"]),
        ("deblur", [str(p), "--overwrite", "--skip-existing"]),
        ("deblur", [str(p), "--kernel-size", "3", "--method", "kernel"]),
        ("deblur", [str(tmp / "nothing*.png")]),
        ("deblur", [str(p), str(tmp / "q.png"), "-o", str(tmp / "one.png"), "--compare"]),
        ("calibrate", ["calibrate", str(tmp / "dir"), str(p), "-o", str(tmp / "c.prior")]),
        ("calibrate", ["calibrate", str(p), str(p), "-o", str(p), "--overwrite"]),
        ("defocus", ["defocus", str(p), "--blur-map", str(tmp / "none.npy")]),
        ("chart", ["chart", str(tmp / "c.jpg")]),
    ]


def test_every_hint_names_only_options_its_command_has(tiny_registry: Path, tmp_path: Path) -> None:
    for command, argv in _cases(tmp_path):
        r = runner.invoke(app, route(argv))
        assert r.exit_code in (1, 2), (argv, r.output)
        said = re.findall(r"(?<![\w-])(--[a-z][a-z-]+|-[a-zA-Z])\b", r.stderr if r.stderr_bytes else r.output)
        unknown = {o for o in said if o not in _options(command) and o not in ("-o",)} - {"--help", "-h"}
        assert not unknown, (argv, unknown, r.output)


@pytest.mark.parametrize("argv", [["MISSING.png", "--json"], ["P", "--json", "--strength", "2"], ["P", "--json", "--no-such-option"],
                                  ["P", "--json", "--method", "psf"], ["calibrate", "P", "P", "-o", "P", "--json"]])
def test_with_json_a_failed_run_prints_one_json_object(tmp_path: Path, argv: list[str]) -> None:
    p = tmp_path / "p.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(p)
    argv = [str(p) if a == "P" else str(tmp_path / a) if a == "MISSING.png" else a for a in argv]
    r = runner.invoke(app, route(argv))
    assert r.exit_code in (1, 2)
    obj = json.loads(r.stdout)  # exactly one JSON document on stdout
    assert obj.get("status") == "error" or obj.get("failed") == 1


@pytest.mark.parametrize("argv", [["bench", "--size", "64x64", "--runs", "1", "--json-file", "DIR"],
                                  ["bench", "--quality", "--images", "MISSING", "--count", "1"],
                                  ["demo", "-o", "FILE"]])
def test_a_bad_path_is_one_line_before_any_work(tmp_path: Path, argv: list[str]) -> None:
    (tmp_path / "DIR").mkdir()
    (tmp_path / "FILE").write_text("x")
    argv = [str(tmp_path / a) if a in ("DIR", "MISSING", "FILE") else a for a in argv]
    r = runner.invoke(app, route(argv))
    assert r.exit_code == 2 and r.output.count("error:") == 1 and "Traceback" not in r.output, r.output
