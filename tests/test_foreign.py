"""Other people's checkpoints through spandrel (`--weights model.pth`): the tests save randomly initialised
nets that spandrel supports, load them back by file as a user would, and run them through our engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from deblurcli.cli.main import app
from deblurcli.errors import UsageError, WeightsError

from .conftest import perturb

from deblurcli.models.foreign import _spandrel  # noqa: E402

try:  # imported as the loader imports it, with a torchvision stand-in where there is none
    _spandrel()
except WeightsError:  # spandrel is installed with --no-deps beside the CPU torch (see the README)
    pytest.skip("spandrel is not installed", allow_module_level=True)
from spandrel.architectures.Compact import Compact  # noqa: E402
from spandrel.architectures.DnCNN import DnCNN  # noqa: E402
from spandrel.architectures.FFTformer import FFTformer  # noqa: E402
from spandrel.architectures.NAFNet import NAFNet  # noqa: E402

def _seeded(make):  # type: ignore[no-untyped-def]
    def build():  # type: ignore[no-untyped-def]
        torch.manual_seed(0)  # the nets' own initialisation: the same net every run
        return make()
    return build


NETS = {
    "NAFNet": lambda: NAFNet(width=8, middle_blk_num=1, enc_blk_nums=[1, 1], dec_blk_nums=[1, 1]),
    "FFTformer": lambda: FFTformer(dim=8, num_blocks=[1, 1, 1], num_refinement_blocks=1),
}
NETS = {k: _seeded(v) for k, v in NETS.items()}


def _save(net: torch.nn.Module, path: Path) -> Path:
    torch.save(perturb(net, scale=0.005).state_dict(), path)  # nudged: NAFNet starts as the identity
    return path


def _photo(path: Path) -> Path:
    yy, xx = np.mgrid[0:72, 0:88]
    Image.fromarray(np.stack([xx * 2, yy * 3, (xx + yy)], -1).astype(np.uint8)).save(path)
    return path


@pytest.mark.parametrize("arch", sorted(NETS))
def test_a_foreign_checkpoint_runs_through_the_cli(arch: str, tmp_path: Path) -> None:
    weights = _save(NETS[arch](), tmp_path / f"{arch.lower()}.pth")
    src = _photo(tmp_path / "a.png")
    r = CliRunner().invoke(app, [str(src), "--weights", str(weights), "--tile", "64", "--device", "cpu", "--json", "-q"])
    assert r.exit_code == 0, r.output
    import json

    assert json.loads(r.stdout)["model"] == weights.stem
    a = np.asarray(Image.open(src), np.float32)
    b = np.asarray(Image.open(tmp_path / "a_deblurred.png"), np.float32)
    assert b.shape == a.shape and np.abs(b - a).mean() > 0.5  # the net ran: not the input passed through


def test_a_local_foreign_net_tiled_equals_untiled(tmp_path: Path) -> None:
    """A purely convolutional net (DnCNN, 35 px reach) within the context every tile gets (96 px)."""
    import deblurcli

    weights = _save(DnCNN(in_nc=3, out_nc=3, nc=8, nb=5), tmp_path / "dncnn.pth")
    x = (np.random.default_rng(0).random((150, 170, 3)) * 255).astype(np.uint8)
    whole = deblurcli.load(weights=weights, device="cpu", tile="none", precision="fp32").restore(x)
    tiled = deblurcli.load(weights=weights, device="cpu", tile=64, precision="fp32").restore(x)
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 2


def test_foreign_checkpoints_of_other_tasks_or_unknown_are_refused(tmp_path: Path) -> None:
    import deblurcli

    sr = _save(Compact(num_feat=8, num_conv=2, upscale=2), tmp_path / "upscaler.pth")
    with pytest.raises(UsageError, match="not an RGB deblurring network"):
        deblurcli.load(weights=sr, device="cpu")
    junk = tmp_path / "junk.pth"
    torch.save({"not.a.net": torch.zeros(3)}, junk)
    with pytest.raises(WeightsError, match="spandrel"):
        deblurcli.load(weights=junk, device="cpu")
    nafnet = _save(NETS["NAFNet"](), tmp_path / "n.pth")
    with pytest.raises(UsageError, match="not a non-blind network"):  # the kernel method needs hqs
        deblurcli.load(weights=nafnet, method="kernel", device="cpu")


def test_a_foreign_checkpoint_registered_by_weights_add_loads_by_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import deblurcli

    monkeypatch.setenv("DEBLUR_WEIGHTS_TOML", str(tmp_path / "weights.toml"))
    weights = _save(DnCNN(in_nc=3, out_nc=3, nc=8, nb=5), tmp_path / "dncnn.pth")
    r = CliRunner().invoke(app, ["weights", "add", str(weights), "--id", "my-dncnn"])
    assert r.exit_code == 0, r.output
    text = (tmp_path / "weights.toml").read_text()
    assert 'arch = "spandrel:DnCNN"' in text and "sha256" in text
    restorer = deblurcli.load("my-dncnn", device="cpu")
    assert restorer.model_id == "my-dncnn"
    assert restorer.restore(np.full((40, 48, 3), 100, np.uint8)).shape == (40, 48, 3)
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")  # changed since it was registered
    with pytest.raises(WeightsError):
        deblurcli.load("my-dncnn", device="cpu")


def test_the_torchvision_stand_in_does_not_outlive_the_import() -> None:
    """Nothing after the import may take the stand-in for a real torchvision."""
    import importlib.util
    import sys

    if importlib.util.find_spec("torchvision") is not None:
        pytest.skip("a real torchvision is installed")
    _spandrel()
    assert "torchvision" not in sys.modules and "torchvision.transforms" not in sys.modules
    with pytest.raises(ImportError):
        import torchvision  # noqa: F401


def test_global_pooling_becomes_local_as_nafnets_tlc() -> None:
    """Equal to global pooling on an image no larger than the window; on a larger one, a pixel's pool
    does not see what lies beyond the window (a bright corner leaves the far side alone)."""
    from deblurcli.models.foreign import ForeignNet, LocalAvgPool

    pool = LocalAvgPool(window=16)
    x = torch.rand(1, 2, 12, 14)
    assert torch.allclose(pool(x), x.mean(dim=(-2, -1), keepdim=True))
    big = torch.zeros(1, 1, 40, 50)
    big[..., :4, :4] = 1.0
    y = pool(big)
    assert y.shape == big.shape and float(y[..., :8, :8].min()) > 0 and float(y[..., 30:, 40:].max()) == 0
    box = big[..., 0:16, 0:16].mean()  # the top-left pixel's box sits inside the image
    assert torch.allclose(y[..., 0, 0], box)
    weights = NETS["NAFNet"]()
    import spandrel

    desc = spandrel.ModelLoader().load_from_state_dict(weights.state_dict())
    net = ForeignNet(desc)
    assert net.local_pools == 5  # one per NAFNet block: 2 encoder, 1 middle and 2 decoder blocks here
