"""A copy of the product's tree with a defect applied, for a stack to run.

Only what a defect may change and a stack runs is copied: `system/` (the
services' code, run through PYTHONPATH) and `compose/` (the alert rules
Prometheus loads, the files the configuration audit reads). The harness and
the scenarios are never copied: the judge is the same for every defect.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from harness.errors import PatchError
from harness.platform.source import REPO_ROOT

COPIED = ("system", "compose")
NOT_COPIED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache")
GIT_APPLY_TIMEOUT_S = 60.0


def copy_tree(target: Path, root: Path = REPO_ROOT) -> Path:
    """Copy the product's parts of `root` into `target` (created); returns `target`."""
    target.mkdir(parents=True, exist_ok=True)
    for part in COPIED:
        shutil.copytree(root / part, target / part, ignore=NOT_COPIED, symlinks=True)
    return target


def apply_patch(tree: Path, patch: Path, check_only: bool = False) -> None:
    """`git apply` the patch inside `tree` (no repository needed); PatchError says why not."""
    argv = ["git", "apply", "--whitespace=nowarn", *(["--check"] if check_only else []), str(patch)]
    # Outside a repository git apply patches plain files relative to the working
    # directory; the ceiling keeps it from finding a repository above the copy.
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(tree.parent)}
    try:
        result = subprocess.run(
            argv,
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
            timeout=GIT_APPLY_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PatchError(f"{patch.name}: git apply could not run: {exc}") from exc
    if result.returncode != 0:
        reason = " ".join(result.stderr.split())[:300]
        raise PatchError(f"{patch.name} does not apply to the current tree: {reason}")
