"""Training pipeline: config validation, a few steps per arch that lower the loss on a fixed batch,
resume, and export (safetensors metadata + weights.toml entry)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from deblurcli import archs
from deblurcli.synth.data import Mix, PairSampler
from deblurcli.training.config import TrainConfig, from_dict, load_config
from deblurcli.training.gan import Adversary
from deblurcli.training.losses import PRIOR_AUX_LEVEL, prior_moments
from deblurcli.training.loop import lr_at
from deblurcli.training.steps import STEPS

from .conftest import TINY

CONFIGS = sorted(Path(__file__).resolve().parents[1].glob("configs/*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_shipped_configs_parse_and_build(path: Path) -> None:
    cfg = load_config(path)
    assert cfg.arch in archs.ARCHS
    archs.build(cfg.arch, cfg.hparams)


def test_unknown_config_key_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown training config keys"):
        from_dict({"id": "x", "arch": "lcnet", "stepz": 3})


def test_cosine_schedule() -> None:
    cfg = TrainConfig(id="x", arch="lcnet", steps=1000, warmup=100, lr=1e-3, lr_min=1e-6)
    assert lr_at(cfg, 0) < lr_at(cfg, 99) <= 1e-3
    assert lr_at(cfg, 100) == pytest.approx(1e-3)
    assert lr_at(cfg, 1000) == pytest.approx(1e-6)


def _batch(arch: str, rng: np.random.Generator) -> dict[str, torch.Tensor]:
    imgs = [np.clip(rng.random((64, 64, 3)).astype(np.float32), 0, 1) for _ in range(3)]
    import cv2

    imgs = [cv2.GaussianBlur(i, (0, 0), 2) for i in imgs]
    mix = Mix(motion=0, nonuniform=0, lens=0, defocus=1, gaussian=0, sharp=0, frames=0) if arch in ("svbr", "blurmap") else Mix(frames=0)
    sampler = PairSampler(imgs, None, mix, dead_leaves_p=0.5)
    items = [sampler.sample(rng, 32, calibration=arch == "dpa") for _ in range(2)]
    t = lambda k: torch.from_numpy(np.stack([it[k] for it in items])).permute(0, 3, 1, 2).contiguous()  # noqa: E731
    b = {"blur": t("blur"), "sharp": t("sharp")}
    if arch == "dpa":
        b |= {"cal_blur": t("cal_blur"), "cal_sharp": t("cal_sharp"), "moments": t("moments"),
              "moments_ok": torch.ones(len(items))}
    if arch in ("svbr", "blurmap"):
        b["radius"] = torch.from_numpy(np.stack([it["radius"] for it in items]))[:, None]
    if arch == "hqs":  # blurred here with the kernel it is given (the sampler's canvas is 75 px)
        from deblurcli.synth.degrade import convolve

        from .conftest import kernel_kwargs, small_line_kernel

        k = small_line_kernel(15)
        b["blur"] = torch.from_numpy(np.stack([convolve(it["sharp"], k) for it in items])).permute(0, 3, 1, 2).contiguous()
        b |= kernel_kwargs(len(items))
    return b


@pytest.mark.parametrize("arch", sorted(archs.ARCHS))
def test_a_few_steps_lower_the_loss(arch: str) -> None:
    torch.manual_seed(0)
    cfg = TrainConfig(id="t", arch=arch, hparams=TINY[arch], map_degrade_after=2 if arch == "svbr" else -1,
                      adversarial_after=9 if arch == "attgan" else -1)
    model = archs.build(arch, TINY[arch])
    b = _batch(arch, np.random.default_rng(0))
    adv = Adversary(cfg) if arch == "attgan" else None
    fn = adv.step if adv is not None else STEPS[arch]
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    d0 = [p.detach().clone() for p in adv.disc.parameters()] if adv else []
    for step in range(12):
        loss = fn(model, b, step, cfg)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all()
    assert losses[8] < losses[2]  # (attgan: content loss only until step 9)
    if adv is not None:  # the adversarial phase trains the discriminator
        assert any(not torch.equal(a, p) for a, p in zip(d0, adv.disc.parameters()))


def test_prior_moment_supervision_trains_both_estimators() -> None:
    """With ``prior_aux``, the blind and calibrated DPE priors move towards the PSF descriptor."""
    torch.manual_seed(0)
    hp = TINY["dpa"] | {"prior_channels": 3}
    cfg = TrainConfig(id="t", arch="dpa", hparams=hp, prior_aux=1.0)
    model = archs.build("dpa", hp)
    b = _batch("dpa", np.random.default_rng(0))
    g = model.cfg.prior_grid

    def aux() -> tuple[float, float]:
        with torch.no_grad():
            blind = model.blind_prior(b["blur"])[PRIOR_AUX_LEVEL]
            cal = model.estimate_prior(b["cal_sharp"], b["cal_blur"])[PRIOR_AUX_LEVEL]
            return tuple(prior_moments(p, b["moments"], b["moments_ok"], g).item() for p in (blind, cal))  # type: ignore[return-value]

    before = aux()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    for step in range(15):
        loss = STEPS["dpa"](model, b, step, cfg)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = aux()
    assert after[0] < 0.7 * before[0] and after[1] < 0.7 * before[1]
    with pytest.raises(ValueError, match="prior_channels"):
        STEPS["dpa"](archs.build("dpa", TINY["dpa"]), b, 0, cfg)


def test_train_resume_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end on a tiny data root: train 4 steps, resume to 6, export into a temp package folder."""
    import cv2

    from deblurcli.training import export as export_mod
    from deblurcli.training.loop import train

    root = tmp_path / "data"
    rng = np.random.default_rng(0)
    for d in ("train/a", "val/cbsd68"):
        (root / d).mkdir(parents=True)
        for i in range(3):
            cv2.imwrite(str(root / d / f"{i}.png"), (cv2.GaussianBlur(rng.random((96, 96, 3)), (0, 0), 1.5) * 255).astype(np.uint8))
    monkeypatch.setenv("DEBLUR_DATA", str(root))
    monkeypatch.setenv("DEBLUR_CACHE", str(tmp_path / "cache"))
    cfg = TrainConfig(id="tiny-lcnet", arch="lcnet", hparams=TINY["lcnet"], steps=4, batch=2, crop=32, warmup=1,
                      val_every=2, ckpt_every=2, val_count=2, val_size=64, val_kinds=("motion", "sharp"), workers=0,
                      data=("train/a",), mix=Mix(frames=0))
    run = tmp_path / "run"
    train(cfg, run, root, resume=False, command="deblur train test")
    assert json.loads((run / "curve.jsonl").read_text().splitlines()[-1])["step"] == 4
    train(replace(cfg, steps=6), run, root, resume=True, command="deblur train test --resume")
    assert torch.load(run / "last.pt", weights_only=False)["step"] == 6
    toml = tmp_path / "weights.toml"
    toml.write_text("[defaults]\n")
    monkeypatch.setattr(export_mod, "BUNDLED_TOML", toml)
    out = export_mod.export(run, None, dest=tmp_path / "weights", toml=toml)
    from deblurcli.hub.registry import load_registry
    from deblurcli.models.store import load

    reg = load_registry(toml, user=tmp_path / "none.toml")
    e = reg.get("tiny-lcnet")
    assert e.recipe["seed"] == 0 and e.recipe["steps"] in (2, 4, 6) and "deblur train" in e.recipe["command"]
    assert "motion" in e.metrics
    model, meta = load(out)
    assert json.loads(meta["recipe"])["steps"] == e.recipe["steps"]


def test_real_blur_frames_are_split_in_time(tmp_path: Path) -> None:
    """Validation crops of the 240 fps clip come only from its held-out end, never a training frame."""
    import cv2

    from deblurcli.synth.data import FRAMES_DIR, GAP_FRAMES, VAL_FRAMES, Frames

    d = tmp_path / FRAMES_DIR
    d.mkdir(parents=True)
    n = 80
    for i in range(n):  # frame i is a flat image of grey level 3·i: its origin can be read back
        cv2.imwrite(str(d / f"{i:04d}.jpg"), np.full((40, 48, 3), 3 * i, np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 100])
    train, val = Frames(tmp_path, scale=1.0), Frames(tmp_path, scale=1.0, split="val")
    level = lambda a: int(round(float(np.mean(a)) * 255 / 3))  # noqa: E731
    assert [level(f) for f in train.frames] == list(range(n - VAL_FRAMES - GAP_FRAMES))
    assert [level(f) for f in val.frames] == list(range(n - VAL_FRAMES, n))
    rng = np.random.default_rng(0)
    for _ in range(10):
        _, sharp = val.sample(rng, 16)
        assert level(sharp) >= n - VAL_FRAMES
    with pytest.raises(ValueError, match="split"):
        Frames(tmp_path, split="test")
