"""``weights.toml`` -> frozen dataclasses. A malformed file is rejected with the entry and field named.

Sources, later ones overriding earlier ones by id: the bundled ``deblurcli/weights.toml``, then the user
file (``$DEBLUR_WEIGHTS_TOML`` or ``~/.config/deblurcli/weights.toml``).
"""

from __future__ import annotations

import os
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RegistryError

BUNDLED_TOML = Path(__file__).resolve().parents[1] / "weights.toml"
TASKS = ("motion", "defocus", "prior", "blurmap", "deconv")
COMMANDS = ("deblur", "defocus", "calibrate", "blurmap", "deconv", "deconv_given")  # deconv_given: the net for --kernel FILE


@dataclass(frozen=True)
class HubSource:
    repo_id: str
    filename: str
    revision: str


@dataclass(frozen=True)
class WeightsEntry:
    id: str
    arch: str
    task: str
    sha256: str
    size: int
    license: str
    file: str | None = None  # relative to the toml's folder
    hub: HubSource | None = None
    base_dir: Path = Path(".")
    recipe: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def bundled_path(self) -> Path | None:
        return (self.base_dir / self.file) if self.file else None

    @property
    def steps(self) -> int | None:
        s = self.recipe.get("steps")
        return int(s) if s is not None else None


@dataclass(frozen=True)
class Registry:
    entries: dict[str, WeightsEntry]
    defaults: dict[str, str]

    def get(self, wid: str) -> WeightsEntry:
        from ..errors import UsageError

        if wid not in self.entries:
            raise UsageError(f"unknown weights id {wid!r}", f"known ids: {', '.join(sorted(self.entries)) or 'none'}; see `deblur weights list`")
        return self.entries[wid]

    def default_for(self, command: str) -> WeightsEntry:
        from ..errors import UsageError

        if command not in self.defaults:
            raise UsageError(f"weights.toml names no default model for `{command}`", "pass --model ID (see `deblur weights list`)")
        return self.get(self.defaults[command])


def _req(d: dict[str, Any], key: str, typ: type, where: str) -> Any:
    if key not in d:
        raise RegistryError(f"{where}: missing field '{key}'")
    v = d[key]
    if typ is int and isinstance(v, bool) or not isinstance(v, typ):
        raise RegistryError(f"{where}: field '{key}' must be {typ.__name__}, got {type(v).__name__}")
    return v


def parse_entry(wid: str, raw: Any, base_dir: Path, where: str) -> WeightsEntry:
    w = f"{where}: entry '{wid}'"
    if not isinstance(raw, dict):
        raise RegistryError(f"{w}: must be a table")
    from ..archs import ARCHS

    known = {"arch", "task", "file", "hub", "sha256", "size", "license", "recipe", "metrics", "description"}
    unknown = set(raw) - known
    if unknown:
        raise RegistryError(f"{w}: unknown field(s) {sorted(unknown)}")
    arch = _req(raw, "arch", str, w)
    if arch not in ARCHS and not (arch.startswith("spandrel:") and len(arch) > 9):  # another's, read by spandrel
        raise RegistryError(f"{w}: field 'arch' is {arch!r}, not one of {', '.join(ARCHS)} or spandrel:NAME")
    task = _req(raw, "task", str, w)
    if task not in TASKS:
        raise RegistryError(f"{w}: field 'task' is {task!r}, not one of {', '.join(TASKS)}")
    sha = _req(raw, "sha256", str, w)
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise RegistryError(f"{w}: field 'sha256' must be 64 lowercase hex digits")
    hub = None
    if "hub" in raw:
        h = raw["hub"]
        if not isinstance(h, dict):
            raise RegistryError(f"{w}: field 'hub' must be a table")
        hub = HubSource(_req(h, "repo_id", str, w + ".hub"), _req(h, "filename", str, w + ".hub"), _req(h, "revision", str, w + ".hub"))
    file = raw.get("file")
    if file is None and hub is None:
        raise RegistryError(f"{w}: needs 'file' (bundled) or a 'hub' source")
    return WeightsEntry(
        id=wid, arch=arch, task=task, sha256=sha, size=_req(raw, "size", int, w), license=_req(raw, "license", str, w),
        file=file, hub=hub, base_dir=base_dir, recipe=dict(raw.get("recipe", {})), metrics=dict(raw.get("metrics", {})),
        description=str(raw.get("description", "")),
    )


def parse(text: str, base_dir: Path, where: str) -> tuple[dict[str, WeightsEntry], dict[str, str]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RegistryError(f"{where}: not valid TOML: {e}") from e
    entries = {wid: parse_entry(wid, raw, base_dir, where) for wid, raw in data.get("weights", {}).items()}
    defaults = data.get("defaults", {})
    for cmd, wid in defaults.items():
        if cmd not in COMMANDS:
            raise RegistryError(f"{where}: [defaults] names unknown command {cmd!r}")
    return entries, dict(defaults)


def user_toml() -> Path:
    env = os.environ.get("DEBLUR_WEIGHTS_TOML")
    return Path(env) if env else Path.home() / ".config" / "deblurcli" / "weights.toml"


def load_registry(bundled: Path = BUNDLED_TOML, user: Path | None = None) -> Registry:
    entries, defaults = parse(bundled.read_text(), bundled.parent, str(bundled)) if bundled.exists() else ({}, {})
    u = user or user_toml()
    if u.exists():
        ue, ud = parse(u.read_text(), u.parent, str(u))
        entries |= ue
        defaults |= ud
    for cmd, wid in defaults.items():
        if wid not in entries:
            raise RegistryError(f"[defaults] {cmd} = {wid!r} names no entry")
    return Registry(entries, defaults)


def update_entry(wid: str, fields: dict[str, Any], path: Path = BUNDLED_TOML) -> None:
    """Create or update ``[weights.<wid>]`` in the bundled toml, keeping its comments and layout."""
    import tomlkit

    doc = tomlkit.parse(path.read_text()) if path.exists() else tomlkit.document()
    weights = doc.setdefault("weights", tomlkit.table(is_super_table=True))
    entry = weights.get(wid) or tomlkit.table()
    for k, v in fields.items():
        entry[k] = v
    weights[wid] = entry
    tmp = path.with_suffix(".tmp")
    tmp.write_text(tomlkit.dumps(doc))
    tmp.replace(path)
