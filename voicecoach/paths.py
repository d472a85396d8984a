"""Where voicecoach keeps files, following the XDG base directory spec."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

APP = "voicecoach"


def _xdg(var: str, default: str) -> Path:
    value = os.environ.get(var, "").strip()
    # The spec says relative paths in these variables are invalid and must be ignored.
    base = Path(value) if value and os.path.isabs(value) else Path.home() / default
    return base / APP


def config_dir() -> Path:
    """User configuration: ``$XDG_CONFIG_HOME/voicecoach`` (user routines live below)."""
    return _xdg("XDG_CONFIG_HOME", ".config")


def data_dir() -> Path:
    """User data: ``$XDG_DATA_HOME/voicecoach`` (the session log)."""
    return _xdg("XDG_DATA_HOME", ".local/share")


def cache_dir() -> Path:
    """Disposable cache: ``$XDG_CACHE_HOME/voicecoach`` (pre-rendered prompts)."""
    return _xdg("XDG_CACHE_HOME", ".cache")


def user_routines_dir() -> Path:
    """Folder of user routine files (``*.toml``) that add to or override the built-ins."""
    return config_dir() / "routines"


def session_log_path() -> Path:
    """The SQLite session log."""
    return data_dir() / "sessions.sqlite3"


def project_models_dir() -> Path:
    """The ``models/`` folder of a source checkout (next to the package)."""
    return Path(__file__).resolve().parent.parent / "models"


def package_folders(package: str) -> list[Path]:
    """The folders of an installed package, found without running its ``__init__``
    (which may pull in modules the coach does not need); empty if not installed."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    return [Path(folder) for folder in spec.submodule_search_locations]
