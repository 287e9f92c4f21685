"""Degradations: kernels are normalised and centred, and the PSF moments that supervise the DPE
prior describe the blur that was applied."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deblurcli.synth import kernels
from deblurcli.synth.data import Mix, PairSampler
from deblurcli.synth.degrade import LensField, blend_weights, degrade, disk_moments, field_moments, lens_psfs
from deblurcli.training.losses import prior_moments, psf_descriptor


@pytest.mark.parametrize("k", [kernels.motion_kernel(np.random.default_rng(3), 25), kernels.disk_kernel(2.5),
                               kernels.gaussian_kernel(2.0, 1.0, 0.4)], ids=["motion", "disk", "gaussian"])
def test_kernels_are_normalised_and_centred(k: np.ndarray) -> None:
    n = k.shape[0]
    assert n % 2 == 1 and k.min() >= 0 and k.sum() == pytest.approx(1, abs=1e-5)
    yy, xx = np.mgrid[0:n, 0:n]
    assert abs((k * yy).sum() - n // 2) <= 0.5 and abs((k * xx).sum() - n // 2) <= 0.5


def test_second_moments_of_known_kernels() -> None:
    mxx, myy, mxy = kernels.second_moments(kernels.gaussian_kernel(3.0, 1.0, 0.0))
    assert mxx == pytest.approx(9.0, rel=0.03) and myy == pytest.approx(1.0, rel=0.1) and abs(mxy) < 1e-3
    # Rotated by 45°: the variance splits between the axes and the covariance is positive.
    mxx, myy, mxy = kernels.second_moments(kernels.gaussian_kernel(3.0, 1.0, np.pi / 4))
    assert mxx == pytest.approx(myy, rel=0.02) and mxy == pytest.approx(4.0, rel=0.05)
    # Defocus: the rendered disk's moments, close to r²/4 for large disks; between two radius levels
    # the blur blends two disks, so the moments blend too.
    q = disk_moments(np.array([[6.0, 1.125]], np.float32))[0]
    assert q[0, 0] == pytest.approx(36 / 4, rel=0.05) and q[0, 2] == 0
    blend = 0.5 * (kernels.second_moments(kernels.disk_kernel(1.0)) + kernels.second_moments(kernels.disk_kernel(1.25)))
    assert q[1, 0] == pytest.approx(blend[0], rel=1e-4)


def test_field_moments_are_those_of_the_blended_psf() -> None:
    field = LensField(base=1.0, growth=2.0, anisotropy=1.0, twist=0.0)
    psfs, g, h, w = lens_psfs(field), field.grid, 40, 60
    wts = blend_weights(h, w, g, g)
    m = field_moments(psfs, wts)
    y, x = 7, 45
    n = max(k.shape[0] for k in psfs)
    pad = lambda k: np.pad(k, (n - k.shape[0]) // 2)  # noqa: E731
    blended = sum(wt[y, x] * pad(k) for wt, k in zip(wts, psfs))
    np.testing.assert_allclose(m[y, x], kernels.second_moments(blended), rtol=1e-4, atol=1e-5)
    # The lens is softer at the corners than at the centre.
    assert m[0, 0, :2].sum() > 2 * m[h // 2, w // 2, :2].sum()


def test_every_synthetic_degradation_reports_its_moments() -> None:
    img = np.random.default_rng(0).random((48, 48, 3)).astype(np.float32)
    for kind in ("motion", "nonuniform", "lens", "defocus", "gaussian", "sharp"):
        d = degrade(img, np.random.default_rng(1), kind)  # type: ignore[arg-type]
        assert d.moments is not None and d.moments.shape == (48, 48, 3)
        assert (d.moments[..., :2] > 0).all() if kind != "sharp" else not d.moments.any()


def test_calibration_pair_shares_the_photos_moments_and_frames_have_none(tmp_path) -> None:
    rng = np.random.default_rng(0)
    imgs = [rng.random((80, 80, 3)).astype(np.float32) for _ in range(2)]
    s = PairSampler(imgs, None, Mix(motion=0, nonuniform=0, lens=1, defocus=0, gaussian=0, sharp=0, frames=0))
    it = s.sample(np.random.default_rng(5), 32, calibration=True)
    assert it["moments"].shape == (32, 32, 3) and (it["moments"][..., 0] > 0).all()

    class FakeFrames:
        def sample(self, rng, size):  # noqa: ANN001, ANN202
            x = np.zeros((size, size, 3), np.float32)
            return x, x

    s = PairSampler(imgs, FakeFrames(), Mix(motion=0, nonuniform=0, lens=0, defocus=0, gaussian=0, sharp=0, frames=1))  # type: ignore[arg-type]
    assert "moments" not in s.sample(np.random.default_rng(5), 32, calibration=True)


def test_prior_moment_loss_is_zero_on_the_target_and_skips_unknown_psfs() -> None:
    moments = torch.rand(2, 3, 16, 16) * 4
    moments[:, 2] = 0.3
    target = psf_descriptor(moments)
    g = 16
    ok = torch.tensor([1.0, 1.0])
    assert prior_moments(target, moments, ok, g).item() == pytest.approx(0, abs=1e-6)
    wrong = target.clone()
    wrong[1] += 1
    assert prior_moments(wrong, moments, ok, g).item() == pytest.approx(0.5, abs=1e-5)
    assert prior_moments(wrong, moments, torch.tensor([1.0, 0.0]), g).item() == pytest.approx(0, abs=1e-6)


def test_pairs_share_exposure() -> None:
    """Input and target of a pair have the same brightness (an exposure change of the input alone
    asks for a correction the network cannot know, and let its output level drift in training)."""
    rng = np.random.default_rng(0)
    imgs = [rng.random((80, 80, 3)).astype(np.float32) for _ in range(3)]
    s = PairSampler(imgs, None, Mix(motion=0, nonuniform=0, lens=0, defocus=0, gaussian=0, sharp=1, frames=0), dead_leaves_p=0)
    gaps, levels = [], []
    for i in range(20):
        it = s.sample(np.random.default_rng(i), 48)
        gaps.append(abs(float(it["blur"].mean() - it["sharp"].mean())))
        levels.append(float(it["sharp"].mean()))
    assert max(gaps) < 0.006  # 0.023 with the input-only ±10% exposure change of before
    assert np.std(levels) > 0.005  # exposure still varies, for input and target together


@pytest.mark.parametrize("shape", [(5, 5), (6, 4), (7, 8)])
def test_the_transfer_function_is_centred_as_convolve_centres(shape: tuple[int, int]) -> None:
    """One centre convention for odd and even kernels: the FFT of ``otf_canvas`` blurs as
    ``degrade.convolve`` does (an even kernel was once centred one pixel off in the Wiener baseline)."""
    from deblurcli.synth.degrade import convolve
    from deblurcli.synth.kernels import otf_canvas

    rng = np.random.default_rng(0)
    x = rng.random((48, 48)).astype(np.float32)
    k = rng.random(shape).astype(np.float32)
    k /= k.sum()
    y = np.real(np.fft.ifft2(np.fft.fft2(x) * np.fft.fft2(otf_canvas(k, (48, 48)))))
    assert np.abs(y - convolve(x, k))[8:-8, 8:-8].max() < 1e-5


def test_lenspsf_blurs_a_crop_by_the_one_lens_psf_it_returns() -> None:
    """The non-blind net's lens training pairs: one PSF of a random lens field, applied in linear light."""
    from deblurcli.synth.degrade import convolve, degrade, to_gamma, to_linear

    rng = np.random.default_rng(5)
    sharp = rng.random((64, 64, 3)).astype(np.float32)
    d = degrade(sharp, np.random.default_rng(9), "lenspsf")
    assert d.kernel is not None and abs(float(d.kernel.sum()) - 1) < 1e-4 and d.kernel.shape[0] % 2 == 1
    assert np.abs(d.blurred - to_gamma(convolve(to_linear(sharp), d.kernel))).max() < 1e-5


def test_wide_est_blurs_by_the_true_kernel_and_hands_the_net_the_aligned_estimate(tmp_path) -> None:
    """Training on our estimator's errors: the pair is blurred by the bank's true kernel, the net is given
    the estimate, moved back by the shift that best matches it to the truth; unusable estimates are
    never drawn."""
    from deblurcli.synth.data import KernelBank

    true = kernels.canvas(kernels.motion_kernel(np.random.default_rng(2), 21), 75)
    est = np.roll(true, (3, -2), (0, 1)) * 0.9 + 0.1 * kernels.canvas(kernels.gaussian_kernel(2.0, 2.0, 0.0), 75)
    junk = kernels.canvas(kernels.delta(1), 75)
    np.savez(tmp_path / "bank.npz", true=np.stack([true, junk]), est=np.stack([est, junk]), ok=np.array([True, False]),
             confidence=np.array([0.9, 0.2], np.float32), similarity=np.array([0.8, 0.0], np.float32))
    bank = KernelBank(tmp_path / "bank.npz")
    assert len(bank) == 1
    rng = np.random.default_rng(0)
    img = rng.random((200, 200, 3)).astype(np.float32)
    only = Mix(motion=0, nonuniform=0, lens=0, defocus=0, gaussian=0, sharp=0, frames=0, wide_est=1)
    s = PairSampler([img], None, only, dead_leaves_p=0.0, bank=bank).sample(np.random.default_rng(1), 64)
    k_true, k_given = bank.pairs[0]
    assert k_true.shape[0] < 75 and abs(float(k_true.sum()) - 1) < 1e-4  # cropped to its support
    # the shift is undone: the estimate's strong part lies on the true kernel again
    assert float((k_given * true).sum()) > 0.8 * float((true * true).sum())
    # the net is given the estimate, turned as the true kernel it was blurred by
    variants = [(np.rot90(k_true, r)[:, ::f], np.rot90(k_given, r)[:, ::f]) for r in range(4) for f in (1, -1)]
    assert any(np.array_equal(s["kernel"], e) for _, e in variants)
    drawn = [bank.sample(np.random.default_rng(i)) for i in range(16)]
    assert all(any(np.array_equal(t, vt) and np.array_equal(e, ve) for vt, ve in variants) for t, e in drawn)
    assert len({t.tobytes() for t, _ in drawn}) > 2
    with pytest.raises(ValueError, match="kernel bank"):
        PairSampler([img], None, only, dead_leaves_p=0.0).sample(np.random.default_rng(1), 64)


def test_kernel_bank_without_usable_estimates_is_refused(tmp_path) -> None:
    from deblurcli.synth.data import KernelBank

    z = np.zeros((1, 75, 75), np.float32)
    np.savez(tmp_path / "b.npz", true=z, est=z, ok=np.array([False]))
    with pytest.raises(ValueError, match="no usable"):
        KernelBank(tmp_path / "b.npz")
    with pytest.raises(FileNotFoundError, match="kernel_error_bank"):
        KernelBank(tmp_path / "none.npz")


def test_wide_large_draws_long_kernels_for_the_non_blind_net() -> None:
    """Mix.wide_large: the wide families with paths of LARGE_MIN_LENGTH px or more (their support is
    wider than the default wide kernels', which are mostly short)."""
    from deblurcli.synth.data import LARGE_MIN_LENGTH

    rng = np.random.default_rng(0)
    img = rng.random((300, 300, 3)).astype(np.float32)
    base = dict(motion=0, nonuniform=0, lens=0, defocus=0, gaussian=0, sharp=0, frames=0)
    large = PairSampler([img], None, Mix(**base, wide_large=1), dead_leaves_p=0.0)
    wide = PairSampler([img], None, Mix(**base, wide=1), dead_leaves_p=0.0)
    reach = lambda s: [kernels.support_radius(kernels.canvas(s.sample(np.random.default_rng(i), 64)["kernel"], 75))  # noqa: E731
                       for i in range(40)]
    r_large, r_wide = reach(large), reach(wide)
    assert min(r_large) >= LARGE_MIN_LENGTH / 4  # a path of L px reaches at least ~L/2 across, so ≥ L/4 from the centre
    assert np.median(r_large) > 1.5 * np.median(r_wide)
    s = large.sample(np.random.default_rng(3), 64)
    assert s["blur"].shape == s["sharp"].shape == (64, 64, 3) and abs(float(s["kernel"].sum()) - 1) < 1e-4
