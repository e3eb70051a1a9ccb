"""The layer contracts in pyproject.toml hold, and each one fails on a deliberate violation.

``lint-imports`` runs on a copy of the package in which one import that breaks the contract has
been added; the copy comes first on the import path, so the contract is checked against it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")

#: contract id -> (module file to edit, the import that breaks the contract)
VIOLATIONS = {
    "core": ("cbma/kernels.py", "import neuroreview.io.atomic"),
    "io": ("io/atomic.py", "import neuroreview.cbma.kernels"),
    "faces": ("web/__init__.py", "import neuroreview.cli.common"),
    "cli": ("cli/label.py", "import neuroreview.space.atlas"),
    "report": ("report/figures.py", "import neuroreview.cbma.registry"),
    "screening": ("screening/flow.py", "import neuroreview.store.schema"),
    "web": ("web/deps.py", "import neuroreview.screening.flow"),
}


def lint(copy: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(copy / "src"))
    arguments = [a for contract in contracts for a in ("--contract", contract)]
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo", *arguments],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "src" / "neuroreview",
        tmp_path / "src" / "neuroreview",
        ignore=shutil.ignore_patterns("__pycache__", "data"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_package_keeps_every_contract(copy: Path) -> None:
    result = lint(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 7 kept, 0 broken." in result.stdout


@pytest.mark.parametrize("contract", sorted(VIOLATIONS))
def test_a_deliberate_violation_breaks_its_contract(copy: Path, contract: str) -> None:
    module, statement = VIOLATIONS[contract]
    path = copy / "src" / "neuroreview" / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{statement}\n", encoding="utf-8")
    result = lint(copy, contract)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout
    assert statement.split()[-1].rsplit(".", 1)[0] in result.stdout
