"""weights.toml parsing, resolution order, and the real Hugging Face download path against a small
HTTP server on 127.0.0.1 that serves the Hub's file endpoints (HF_ENDPOINT points at it)."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from deblurcli.archs import build
from deblurcli.errors import ChecksumError, OfflineError, RegistryError, WeightsError
from deblurcli.hub.registry import load_registry, parse
from deblurcli.hub.resolve import locate, resolve
from deblurcli.models import store
from deblurcli.models.loader import load_entry

from .conftest import TINY

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class HubHandler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    requests: list[str] = []

    def log_message(self, *args: object) -> None:
        pass

    def _serve(self, body: bool) -> None:
        self.requests.append(f"{self.command} {self.path}")
        data = self.files.get(self.path)
        if data is None:
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("ETag", '"' + hashlib.sha256(data).hexdigest() + '"')
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(False)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(True)


@pytest.fixture()
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, type[HubHandler]]]:
    handler = type("H", (HubHandler,), {"files": {}, "requests": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("DEBLUR_WEIGHTS_DIR", raising=False)
    try:
        yield url, handler
    finally:
        server.shutdown()
        server.server_close()


def _checkpoint(tmp_path: Path) -> bytes:
    f = tmp_path / "src.safetensors"
    store.save(build("lcnet", TINY["lcnet"]), f)
    return f.read_bytes()


def _registry(tmp_path: Path, sha: str, size: int) -> Path:
    p = tmp_path / "weights.toml"
    p.write_text(f'''[defaults]
deblur = "hubbed"
[weights.hubbed]
arch = "lcnet"
task = "motion"
sha256 = "{sha}"
size = {size}
license = "test"
[weights.hubbed.hub]
repo_id = "deblurcli/test-weights"
filename = "lcnet.safetensors"
revision = "{COMMIT}"
''')
    return p


def test_download_caches_and_loads(hub: tuple[str, type[HubHandler]], tmp_path: Path) -> None:
    _, handler = hub
    data = _checkpoint(tmp_path)
    handler.files[f"/deblurcli/test-weights/resolve/{COMMIT}/lcnet.safetensors"] = data
    reg = load_registry(bundled=tmp_path / "none.toml", user=_registry(tmp_path, hashlib.sha256(data).hexdigest(), len(data)))
    e = reg.get("hubbed")
    assert locate(e)[0] == "remote"
    p = resolve(e)
    assert p.read_bytes() == data and str(tmp_path / "hf-cache") in str(p)
    assert any(r.startswith("GET") for r in handler.requests)
    assert locate(e)[0] == "cached"
    model, meta = load_entry(e)
    with torch.no_grad():
        assert torch.isfinite(model(torch.rand(1, 3, 24, 24))).all()
    # Offline now: the cache serves it without any request.
    n = len(handler.requests)
    import os

    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        assert resolve(e) == p
    finally:
        del os.environ["HF_HUB_OFFLINE"]
    assert len(handler.requests) == n


def test_tampered_download_is_refused_and_not_kept(hub: tuple[str, type[HubHandler]], tmp_path: Path) -> None:
    _, handler = hub
    data = _checkpoint(tmp_path)
    handler.files[f"/deblurcli/test-weights/resolve/{COMMIT}/lcnet.safetensors"] = data[:-8] + b"tampered"
    reg = load_registry(bundled=tmp_path / "none.toml", user=_registry(tmp_path, hashlib.sha256(data).hexdigest(), len(data)))
    with pytest.raises(ChecksumError, match="deleted"):
        resolve(reg.get("hubbed"))
    leftovers = [p for p in (tmp_path / "hf-cache").rglob("*") if p.is_file() and p.suffix != ".lock"]
    assert not [p for p in leftovers if p.stat().st_size > 1000], leftovers


def test_offline_with_empty_cache_says_what_to_run(hub: tuple[str, type[HubHandler]], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    reg = load_registry(bundled=tmp_path / "none.toml", user=_registry(tmp_path, "0" * 64, 10))
    with pytest.raises(OfflineError) as ei:
        resolve(reg.get("hubbed"))
    assert "deblur weights pull hubbed" in ei.value.hint


def test_env_dir_takes_precedence_and_is_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _checkpoint(tmp_path)
    d = tmp_path / "mine"
    d.mkdir()
    (d / "lcnet.safetensors").write_bytes(data)
    reg = load_registry(bundled=tmp_path / "none.toml", user=_registry(tmp_path, hashlib.sha256(data).hexdigest(), len(data)))
    monkeypatch.setenv("DEBLUR_WEIGHTS_DIR", str(d))
    assert resolve(reg.get("hubbed")) == d / "lcnet.safetensors"
    (d / "lcnet.safetensors").write_bytes(data + b"!")
    with pytest.raises(ChecksumError):
        resolve(reg.get("hubbed"))
    assert (d / "lcnet.safetensors").exists()  # the user's own file is never deleted


@pytest.mark.parametrize("text,words", [
    ('[weights.a]\narch = "lcnet"\ntask = "motion"\nsize = 1\nlicense = "x"\nfile = "a"', "entry 'a': missing field 'sha256'"),
    ('[weights.a]\narch = "nope"\ntask = "motion"', "entry 'a': field 'arch'"),
    ('[weights.a]\narch = "lcnet"\ntask = "motion"\nsha256 = "zz"\nsize = 1\nlicense = "x"\nfile = "a"', "'sha256' must be 64"),
    ('[weights.a]\narch = "lcnet"\ntask = "fun"', "field 'task'"),
    ('[weights.a]\narch = "lcnet"\ntask = "motion"\nsha256 = "' + "a" * 64 + '"\nsize = "big"\nlicense = "x"\nfile = "a"', "'size' must be int"),
    ("[weights.a\n", "not valid TOML"),
])
def test_malformed_registry_names_entry_and_field(text: str, words: str, tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match=words.replace("(", r"\(")):
        parse(text, tmp_path, "w.toml")


def test_hf_hub_model_spec_downloads_verifies_and_loads(hub: tuple[str, type[HubHandler]], tmp_path: Path) -> None:
    from deblurcli.models.loader import load_model

    _, handler = hub
    data = _checkpoint(tmp_path)
    handler.files[f"/someone/their-deblur/resolve/{COMMIT}/nets/lcnet.safetensors"] = data
    reg = load_registry(bundled=tmp_path / "none.toml", user=tmp_path / "none-user.toml")
    model, entry = load_model(f"hf-hub:someone/their-deblur/nets/lcnet.safetensors@{COMMIT}", "deblur", registry=reg)
    assert entry.arch == "lcnet" and entry.sha256 == hashlib.sha256(data).hexdigest()
    with pytest.raises(WeightsError, match="expected hf-hub:OWNER/REPO/FILE"):
        load_model("hf-hub:only-owner", "deblur", registry=reg)


def test_weights_add_registers_a_users_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from deblurcli.cli.main import app

    f = tmp_path / "mine.safetensors"
    store.save(build("lcnet", TINY["lcnet"]), f)
    monkeypatch.setenv("DEBLUR_WEIGHTS_TOML", str(tmp_path / "cfg" / "weights.toml"))
    r = CliRunner().invoke(app, ["weights", "add", str(f), "--id", "my-lcnet"])
    assert r.exit_code == 0, r.output
    e = load_registry().get("my-lcnet")
    assert e.sha256 == hashlib.sha256(f.read_bytes()).hexdigest() and e.size == f.stat().st_size and e.task == "motion"
    assert resolve(e) == f.resolve()
    r = CliRunner().invoke(app, ["weights", "add", str(f), "--id", "my-lcnet"])
    assert r.exit_code == 2  # already registered
