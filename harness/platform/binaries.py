"""Where the programs of the local stack live on this kind of machine."""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

from harness.errors import StartupError

# Debian keeps the PostgreSQL server binaries off PATH; cargo installs under ~/.cargo.
_EXTRA_DIRS = (
    *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True),
    str(Path.home() / ".cargo" / "bin"),
    "/usr/sbin",
)


def find(program: str, component: str) -> str:
    """The absolute path of `program`, or a StartupError telling how to install it."""
    found = shutil.which(program) or shutil.which(program, path=os.pathsep.join(_EXTRA_DIRS))
    if found is None:
        raise StartupError(component, f"{program} not found; run scripts/bootstrap")
    return found


def available(program: str) -> bool:
    return shutil.which(program) is not None
