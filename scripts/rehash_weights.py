"""Re-save every bundled checkpoint with the hash of its tensors in its metadata (``tensors_sha256``,
checked at every load since the reliability battery), and update its sha256 and size in weights.toml.
The tensors and all other metadata stay as they are.

    python scripts/rehash_weights.py
"""

from __future__ import annotations

from pathlib import Path

from safetensors import safe_open
from safetensors.torch import save_file

from deblurcli.hub.registry import BUNDLED_TOML, load_registry, update_entry
from deblurcli.hub.resolve import sha256_of
from deblurcli.models.store import tensors_sha256


def main() -> None:
    reg = load_registry(BUNDLED_TOML, user=Path("/nonexistent.toml"))
    for e in reg.entries.values():
        p = e.bundled_path
        if p is None or not p.is_file():
            continue
        with safe_open(str(p), framework="pt") as f:
            meta = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        if meta.get("tensors_sha256") == tensors_sha256(tensors):
            print(f"{e.id}: already hashed")
            continue
        meta["tensors_sha256"] = tensors_sha256(tensors)
        tmp = p.with_suffix(".tmp")
        save_file(tensors, str(tmp), metadata=meta)
        tmp.chmod(0o644)
        tmp.replace(p)
        update_entry(e.id, {"sha256": sha256_of(p), "size": p.stat().st_size})
        print(f"{e.id}: tensors hashed, sha256 {sha256_of(p)[:12]}…")


if __name__ == "__main__":
    main()
