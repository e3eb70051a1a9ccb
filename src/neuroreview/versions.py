"""The versions a result depends on, as every record of a run states them."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from importlib import metadata

from neuroreview import __version__


def package_versions(packages: Iterable[str]) -> dict[str, str]:
    """Python's and neuroreview's versions, then each of ``packages`` (or "not installed")."""
    found = {"python": platform.python_version(), "neuroreview": __version__}
    for package in packages:
        if package == "neuroreview":
            continue
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found
