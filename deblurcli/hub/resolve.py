"""Resolve a checkpoint to a verified local file, in this order (each step logged at debug level):

1. ``$DEBLUR_WEIGHTS_DIR/<file name>``,
2. the bundled file inside the package,
3. the Hugging Face cache (``HF_HOME``),
4. a download with ``huggingface_hub.hf_hub_download(repo_id, filename, revision=...)`` — honouring
   ``HF_HUB_OFFLINE`` and ``HF_ENDPOINT``, with a progress bar.

The sha256 is checked before every load; a mismatching file is refused and, if we downloaded or
cached it, deleted. (``--weights PATH`` comes first of all; see ``models.loader.load_file``.)
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from ..errors import ChecksumError, OfflineError, WeightsError
from .registry import WeightsEntry

log = logging.getLogger("deblurcli.hub")
_VERIFIED: dict[tuple[str, int, float], str] = {}  # (path, size, mtime) -> sha256, per process


def sha256_of(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime)
    if key not in _VERIFIED:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _VERIFIED[key] = h.hexdigest()
    return _VERIFIED[key]


def verify(path: Path, entry: WeightsEntry, delete_bad: bool = False) -> Path:
    got = sha256_of(path)
    if got != entry.sha256:
        if delete_bad:
            _delete_cached(path)
            raise ChecksumError(f"{entry.id}: downloaded file failed its sha256 check (got {got[:12]}…, expected {entry.sha256[:12]}…) and was deleted")
        raise ChecksumError(f"{entry.id}: {path} does not match its sha256 (got {got[:12]}…, expected {entry.sha256[:12]}…)",
                            "replace the file, or remove it so the tool fetches a good copy")
    return path


def _delete_cached(path: Path) -> None:
    """Remove a cached file: the snapshot link and the blob it points to."""
    real = path.resolve()
    path.unlink(missing_ok=True)
    if real != path:
        real.unlink(missing_ok=True)


def file_name(entry: WeightsEntry) -> str:
    if entry.file:
        return Path(entry.file).name
    assert entry.hub is not None
    return Path(entry.hub.filename).name


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _hf_kwargs() -> dict[str, str]:
    """Endpoint and cache folder read from the environment at call time (HF_ENDPOINT, HF_HUB_CACHE,
    HF_HOME), so they apply even when set after huggingface_hub was imported."""
    kw: dict[str, str] = {}
    if os.environ.get("HF_ENDPOINT"):
        kw["endpoint"] = os.environ["HF_ENDPOINT"].rstrip("/")
    if os.environ.get("HF_HUB_CACHE"):
        kw["cache_dir"] = os.environ["HF_HUB_CACHE"]
    elif os.environ.get("HF_HOME"):
        kw["cache_dir"] = str(Path(os.environ["HF_HOME"]) / "hub")
    return kw


def cached(entry: WeightsEntry) -> Path | None:
    if entry.hub is None:
        return None
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(hf_hub_download(entry.hub.repo_id, entry.hub.filename, revision=entry.hub.revision,
                                    local_files_only=True, **_hf_kwargs()))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError):
        return None


def locate(entry: WeightsEntry) -> tuple[str, Path | None]:
    """Where the entry is now, without downloading: (bundled | local | cached | remote, path)."""
    env_dir = os.environ.get("DEBLUR_WEIGHTS_DIR")
    if env_dir and (Path(env_dir) / file_name(entry)).is_file():
        return "local", Path(env_dir) / file_name(entry)
    if entry.bundled_path and entry.bundled_path.is_file():
        return "bundled", entry.bundled_path
    c = cached(entry)
    if c is not None:
        return "cached", c
    return ("remote" if entry.hub else "missing"), None


def resolve(entry: WeightsEntry, download: bool = True) -> Path:
    env_dir = os.environ.get("DEBLUR_WEIGHTS_DIR")
    if env_dir:
        p = Path(env_dir) / file_name(entry)
        log.debug("weights: $DEBLUR_WEIGHTS_DIR candidate %s (%s)", p, "found" if p.is_file() else "absent")
        if p.is_file():
            return verify(p, entry)
    if entry.bundled_path is not None:
        log.debug("weights: bundled candidate %s (%s)", entry.bundled_path, "found" if entry.bundled_path.is_file() else "absent")
        if entry.bundled_path.is_file():
            return verify(entry.bundled_path, entry)
    if entry.hub is None:
        raise WeightsError(f"{entry.id}: the bundled file {entry.file} is missing and no Hub source is listed",
                           "reinstall deblurcli, or pass --weights PATH")
    c = cached(entry)
    log.debug("weights: Hugging Face cache %s", c or "miss")
    if c is not None:
        return verify(c, entry, delete_bad=True)
    if offline() or not download:
        raise OfflineError(f"{entry.id} is not downloaded and HF_HUB_OFFLINE is set",
                           f"run `deblur weights pull {entry.id}` on a machine with network access")
    return _download(entry)


DEFAULT_DEADLINE_S = 300.0  # the whole download; $DEBLUR_DOWNLOAD_TIMEOUT overrides it


def deadline_s() -> float:
    try:
        return max(float(os.environ.get("DEBLUR_DOWNLOAD_TIMEOUT", DEFAULT_DEADLINE_S)), 0.1)
    except ValueError:
        return DEFAULT_DEADLINE_S


def fetch(repo_id: str, filename: str, revision: str | None, label: str) -> Path:
    """``hf_hub_download`` under one overall deadline (an endpoint that accepts and never answers, or
    stalls mid-file, must not hang the tool for minutes); every failure is one ``WeightsError``."""
    import concurrent.futures as cf

    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    log.debug("weights: downloading %s/%s@%s", repo_id, filename, revision)
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)  # its retry warnings are not ours to print
    limit = deadline_s()
    pool = cf.ThreadPoolExecutor(1, thread_name_prefix="deblur-download")
    fut = pool.submit(hf_hub_download, repo_id, filename, revision=revision, etag_timeout=min(10.0, limit),
                      local_files_only=offline(), **_hf_kwargs())
    pool.shutdown(wait=False)  # a stalled transfer is abandoned with the thread, never waited on
    try:
        return Path(fut.result(timeout=limit))
    except cf.TimeoutError:
        raise WeightsError(f"{label}: the download did not finish within {limit:g} s",
                           "check the network or HF_ENDPOINT; $DEBLUR_DOWNLOAD_TIMEOUT sets the limit") from None
    except LocalEntryNotFoundError as e:
        raise OfflineError(f"{label}: cannot reach the Hugging Face Hub and the file is not cached",
                           "download it where there is network access (`deblur weights pull`)") from e
    except Exception as e:  # noqa: BLE001 — HTTP errors, read timeouts, resets: all one download failure
        raise WeightsError(f"{label}: download failed ({type(e).__name__}: {e})") from e


HF_PREFIX = "hf-hub:"


def fetch_spec(spec: str) -> Path:
    """``hf-hub:OWNER/REPO/PATH/IN/REPO.safetensors[@REVISION]`` downloaded (or from the cache)."""
    body = spec[len(HF_PREFIX):]
    body, _, revision = body.partition("@")
    parts = body.split("/")
    if len(parts) < 3 or not all(parts):
        raise WeightsError(f"--model {spec}: expected hf-hub:OWNER/REPO/FILE[@REVISION]")
    return fetch("/".join(parts[:2]), "/".join(parts[2:]), revision or None, spec)


def _download(entry: WeightsEntry) -> Path:
    assert entry.hub is not None
    p = fetch(entry.hub.repo_id, entry.hub.filename, entry.hub.revision, entry.id)
    return verify(p, entry, delete_bad=True)
