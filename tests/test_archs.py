"""Per-network tests, parametrised over the arch registry (compact configs, small odd-sized inputs)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from deblurcli.archs import ARCHS, build, hparams_of
from deblurcli.models import store

from .conftest import kernel_kwargs, perturb

NAMES = sorted(ARCHS)


def _inputs(arch: str, h: int = 37, w: int = 53, b: int = 2) -> tuple[torch.Tensor, dict]:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(b, 3, h, w, generator=g)
    kw = {"blur_map": torch.rand(b, 1, h, w, generator=g) * 6} if arch == "svbr" else {}
    if arch == "hqs":
        kw = kernel_kwargs(b, build("hqs").cfg.canvas)
    return x, kw


# every arch's compact config, and the variants we ship besides (dpa-lite: space-to-depth DPA)
VARIANTS = [(n, {}) for n in NAMES] + [("dpa", {"unshuffle": 2})]


@pytest.fixture(scope="module", params=VARIANTS, ids=[n + ("-" + "-".join(f"{k}{v}" for k, v in h.items()) if h else "") for n, h in VARIANTS])
def net(request: pytest.FixtureRequest) -> tuple[str, torch.nn.Module]:
    torch.manual_seed(0)
    arch, hp = request.param
    return arch, perturb(build(arch, hp)).eval()


def test_shape_odd_sizes_and_finite(net: tuple[str, torch.nn.Module]) -> None:
    arch, m = net
    for h, w in ((37, 53), (64, 31), (17, 17)):
        x, kw = _inputs(arch, h, w)
        with torch.no_grad():
            y = m(x, **kw)
        channels = 1 if ARCHS[arch].output == "radius" else 3
        assert y.shape == (x.shape[0], channels, *x.shape[2:])
        assert torch.isfinite(y).all()
        if ARCHS[arch].output == "radius":  # a disk radius: never below the net's floor
            assert (y >= m.cfg.r_min).all()


def test_every_parameter_gets_a_gradient(net: tuple[str, torch.nn.Module]) -> None:
    arch, m = net
    m = m.train()
    # the calibrated prior's 16×16 grid needs a coarsest level of at least 16 px: 32·2^unshuffle
    side = 32 * getattr(m.cfg, "unshuffle", 1)
    x, kw = _inputs(arch, side, side * 3 // 2)
    loss = m(x, **kw).square().mean()
    if arch == "dpa":  # the calibrated-mode estimator is used with a calibration pair
        loss = loss + m(x, m.estimate_prior(x, x.flip(-1))).square().mean()
    m.zero_grad()
    loss.backward()
    dead = [n for n, p in m.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    m.eval()
    assert not dead, f"no gradient for {dead[:5]}"


def test_deterministic_eval(net: tuple[str, torch.nn.Module]) -> None:
    arch, m = net
    x, kw = _inputs(arch)
    with torch.no_grad():
        assert torch.equal(m(x, **kw), m(x, **kw))


def test_batch_items_are_independent(net: tuple[str, torch.nn.Module]) -> None:
    arch, m = net
    x, kw = _inputs(arch)
    with torch.no_grad():
        full = m(x, **kw)
        one = m(x[:1], **{k: v[:1] for k, v in kw.items()})
    assert torch.allclose(full[:1], one, atol=1e-5)


def test_save_load_round_trip(net: tuple[str, torch.nn.Module], tmp_path: Path) -> None:
    arch, m = net
    f = tmp_path / "m.safetensors"
    store.save(m, f, {"note": "x"})
    m2, meta = store.load(f)
    assert meta["arch"] == arch and meta["note"] == "x"
    assert hparams_of(m2) == hparams_of(m)
    x, kw = _inputs(arch)
    with torch.no_grad():
        assert torch.equal(m(x, **kw), m2(x, **kw))


@pytest.mark.parametrize("bf16", [False, True])
def test_inference_in_place_path_matches_the_autograd_path(net: tuple[str, torch.nn.Module], bf16: bool) -> None:
    """Residual sums are written into fresh intermediates at inference (``_blocks.add_into``, DPA's
    prior attention): same output as with autograd on, bit for bit, and the input is left alone."""
    arch, m = net
    x, kw = _inputs(arch)
    before = x.clone()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        with torch.enable_grad():
            ref = m(x, **kw).detach()
        with torch.inference_mode():
            fast = m(x, **kw)
    assert torch.equal(ref, fast)
    assert torch.equal(x, before)


BF16_TOL = 0.06  # bf16 keeps 8 mantissa bits; through ~30 layers outputs in [0, 1] agree to a few 1/100


def test_fp32_vs_bf16(net: tuple[str, torch.nn.Module]) -> None:
    arch, m = net
    x, kw = _inputs(arch)
    with torch.no_grad():
        ref = m(x, **kw)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = m(x, **kw).float()
    assert (ref - low).abs().mean() < BF16_TOL / 4
    assert (ref - low).abs().max() < BF16_TOL * 4


def test_paper_configs_build() -> None:
    for name, spec in ARCHS.items():
        m = spec.module(spec.config.paper())
        assert sum(p.numel() for p in m.parameters()) > sum(p.numel() for p in build(name).parameters())


def test_strict_load_rejects_other_arch_tensors(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from deblurcli.errors import WeightsError

    m = build("lcnet")
    sd = {k: v.contiguous() for k, v in m.state_dict().items()}
    sd.pop(next(iter(sd)))
    f = tmp_path / "bad.safetensors"
    save_file(sd, str(f), metadata={"format": "deblurcli/1", "arch": "lcnet", "hparams": "{}"})
    with pytest.raises(WeightsError, match="missing"):
        store.load(f)


def test_local_mean_is_the_mean_over_the_window_clipped_to_the_image() -> None:
    from deblurcli.archs._blocks import local_mean

    x = torch.rand(2, 3, 9, 13, dtype=torch.float64)
    got = local_mean(x, 5)
    want = torch.empty_like(x)
    for i in range(9):
        for j in range(13):
            want[..., i, j] = x[..., max(i - 2, 0) : i + 3, max(j - 2, 0) : j + 3].mean((-2, -1))
    torch.testing.assert_close(got.double(), want, rtol=1e-6, atol=1e-6)
    # A window larger than the image is global average pooling.
    torch.testing.assert_close(local_mean(x, 31).double(), x.mean((-2, -1), keepdim=True).expand_as(x), rtol=1e-6, atol=1e-6)


def test_channel_attention_pools_after_the_squeeze_conv_without_changing_its_output() -> None:
    from deblurcli.archs._blocks import ChannelAttention, local_mean

    torch.manual_seed(0)
    ca = ChannelAttention(16, window=7).eval()
    x = torch.randn(1, 16, 20, 24)
    with torch.no_grad():
        reference = x * ca.body(local_mean(x, 7))  # the textbook order: pool, then squeeze
        torch.testing.assert_close(ca(x), reference, rtol=1e-5, atol=1e-5)


def test_local_attention_matches_the_definition_with_borders_masked() -> None:
    from deblurcli.archs._blocks import local_attention

    torch.manual_seed(0)
    q, k, v = torch.randn(1, 3, 6, 7), torch.randn(1, 3, 6, 7), torch.randn(1, 2, 6, 7)
    got = local_attention(q, k, v, 3)
    want = torch.empty(1, 2, 6, 7)
    for i in range(6):
        for j in range(7):
            ys, xs = range(max(i - 1, 0), min(i + 2, 6)), range(max(j - 1, 0), min(j + 2, 7))
            nb = [(y, x) for y in ys for x in xs]  # neighbours inside the image only
            logits = torch.stack([(q[0, :, i, j] * k[0, :, y, x]).sum() / 3**0.5 for y, x in nb])
            w = torch.softmax(logits, 0)
            want[0, :, i, j] = sum(wt * v[0, :, y, x] for wt, (y, x) in zip(w, nb))
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    # Layout and precision follow the input.
    cl = v.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    out = local_attention(q.to(torch.bfloat16), k.to(torch.bfloat16), cl, 3)
    assert out.dtype == torch.bfloat16 and out.is_contiguous(memory_format=torch.channels_last)
