"""A workspace: a folder with muster.toml, the embedded database and archived extracts."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from muster.errors import ConfigError, WorkspaceError
from muster.profile import BUILTIN_PROFILES, Profile, load_profile

CONFIG_NAME = "muster.toml"
DATABASE_ENV = "MUSTER_DATABASE_URL"
DEFAULT_DATABASE = "muster.db"


@dataclass
class Workspace:
    root: Path
    config: dict[str, Any]

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def database_url(self) -> str:
        """MUSTER_DATABASE_URL wins; otherwise the workspace's setting or its SQLite file."""
        url = os.environ.get(DATABASE_ENV) or self.config.get("workspace", {}).get("database")
        if url:
            return str(url)
        return f"sqlite:///{self.root / DEFAULT_DATABASE}"

    @property
    def archive_dir(self) -> Path:
        return self.root / "extracts"

    @property
    def sources(self) -> dict[str, Any]:
        return dict(self.config.get("sources", {}))

    def profile(self) -> Profile:
        spec = self.config.get("profile", {})
        return load_profile(spec.get("path") or spec.get("name", "default"), base=self.root)

    def save(self) -> None:
        tmp = self.config_path.with_suffix(".toml.tmp")
        tmp.write_text(tomli_w.dumps(self.config), encoding="utf-8")
        tmp.replace(self.config_path)  # never leave a half-written muster.toml


def create_workspace(root: Path, profile: str = "default") -> Workspace:
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file in the way, no permission
        raise WorkspaceError(f"Cannot make the workspace folder {root}: {exc.strerror}.",
                             hint="Name a new or empty folder you may write to.") from None
    path = root / CONFIG_NAME
    if path.exists():
        raise WorkspaceError(
            f"{path} already exists: {root} is already a muster workspace.",
            hint="Use it as it is, or choose an empty folder.",
        )
    spec = _profile_spec(root, profile)
    load_profile(spec.get("path") or spec["name"], base=root)  # fail now, not at the first ingest
    config: dict[str, Any] = {
        "workspace": {"format": 1},
        "profile": spec,
        "sources": {},
    }
    workspace = Workspace(root.resolve(), config)
    workspace.save()
    return workspace


def _profile_spec(root: Path, profile: str) -> dict[str, str]:
    """muster.toml's [profile]: a built-in profile's name, or a folder's path. A relative
    folder is where it was typed (the current directory), kept as an absolute path so
    the workspace finds it from anywhere; one inside the workspace folder stays
    relative to it, and moves with it."""
    if profile in BUILTIN_PROFILES:
        return {"name": profile}
    folder = Path(profile).expanduser()
    if not folder.is_absolute():
        if (root / folder / "profile.toml").exists():
            return {"path": str(folder)}
        folder = Path.cwd() / folder
    return {"path": str(folder.resolve())}


def open_workspace(root: Path | None = None) -> Workspace:
    root = (root or Path.cwd()).resolve()
    path = root / CONFIG_NAME
    if not path.exists():
        raise WorkspaceError(
            f"{root} is not a muster workspace (no {CONFIG_NAME}).",
            hint="Create one with `muster init DIR`, then run commands inside it or pass "
            "--workspace DIR.",
        )
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}", hint="Fix the file by hand."
        ) from None
    return Workspace(root, config)
