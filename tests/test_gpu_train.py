"""The lent-GPU training command in its CPU smoke mode, on a tiny shard the test makes in the layout
`scripts/make_shards.py` writes: it must train, validate on the foreign sets, and leave what comes
back from a device machine (at most 8 files), so that it is known to work before a GPU appears."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def _img(path: Path, h: int, w: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    small = (rng.random((h // 8, w // 8, 3)) * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC))


def _shard(root: Path) -> Path:
    from deblurcli.synth.foreign import GOPRO_VAL, LARGE_KERNELS, MOTION_KERNELS

    for i in range(3):
        _img(root / "train/bsds200" / f"{i}.jpg", 160, 160, i)
        _img(root / "val/cbsd68" / f"{i}.jpg", 260, 260, 10 + i)
    (root / "kernels").mkdir()
    for j, k in enumerate(MOTION_KERNELS + LARGE_KERNELS):
        ker = np.zeros((9, 9), np.float32)
        ker[4, 2 + j % 5] = ker[4, 4] = 0.5
        np.save(root / "kernels" / f"{k}.npy", ker)
    for i in list(GOPRO_VAL) + [47, 48]:
        for side in ("blur", "sharp"):
            _img(root / "frames/gopro_GOPR0372_07_00_pairs" / side / f"{i:06d}.jpg", 96, 128, i)
    return root


def test_gpu_train_smoke_mode_trains_validates_and_leaves_what_comes_back(tmp_path: Path) -> None:
    shard = _shard(tmp_path / "shard")
    out = tmp_path / "out"
    env = os.environ | {"SMOKE": "1", "SHARD": str(shard), "OUT": str(out), "PY": "python",
                        "DEBLUR_CACHE": str(tmp_path / "cache"), "BUDGET_S": "240"}
    r = subprocess.run(["bash", str(ROOT / "scripts/gpu_train.sh")], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "failed" not in r.stdout, r.stdout
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) <= 8, files
    for wid in ("dpa-lite", "dpa-compact"):
        st = torch.load(out / wid / "best.pt", map_location="cpu", weights_only=False)
        assert st["step"] == 3 and st["device_steps"] == {"cpu": 3}
        assert {"gopro", "foreign-motion-srgb", "foreign-motion-linear", "foreign-large"} <= set(st["metrics"])
        curve = [json.loads(line) for line in (out / wid / "curve.jsonl").read_text().splitlines()]
        assert curve and "foreign-large" in curve[-1]["val"]
        assert not (out / wid / "last.pt").exists()
    assert (out / "machine.txt").exists() and (out / "gpu_train.log").exists()
    # the local import step: CPU validation against the bundled checkpoint (here on the tiny shard)
    r = subprocess.run(["python", str(ROOT / "scripts/gpu_import.py"), str(out), "--dry-run"], capture_output=True, text=True,
                       env=env | {"DEBLUR_DATA": str(shard)}, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "dpa-lite (cpu: 3 steps): mean foreign gain" in r.stdout and "not exported" in r.stdout


def test_dry_run_prints_the_command_the_size_and_the_files(tmp_path: Path) -> None:
    r = subprocess.run(["bash", str(ROOT / "scripts/gpu_train.sh"), "--dry-run"], capture_output=True, text=True,
                       env=os.environ | {"SHARD": str(_shard(tmp_path / "s"))}, cwd=ROOT, timeout=120)
    assert r.returncode == 0
    assert "device command: bash scripts/gpu_train.sh" in r.stdout
    assert "carried:" in r.stdout and "dpa-lite/best.pt" in r.stdout


@pytest.mark.parametrize("workers", [0, 2])
def test_batches_are_the_same_sequence_with_any_number_of_workers(tmp_path: Path, workers: int) -> None:
    from dataclasses import replace

    from deblurcli.training.batches import loader
    from deblurcli.training.config import load_config

    shard = _shard(tmp_path / "shard")
    cfg = replace(load_config(ROOT / "configs/dpa-lite-gpu.toml"), batch=2, crop=48, workers=workers)
    ref = replace(cfg, workers=0)
    got, want = loader(cfg, shard, 5), loader(ref, shard, 5)
    for _ in range(4):
        a, b = next(got), next(want)
        assert torch.equal(a["blur"], b["blur"]) and torch.equal(a["sharp"], b["sharp"])
