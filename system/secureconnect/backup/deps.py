"""The backup scheduler's state, and the FastAPI dependency of its /health."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from secureconnect.backup.scheduler import BackupScheduler
from secureconnect.backup.settings import BackupSettings
from secureconnect.common.deps import state_dependency


@dataclass(frozen=True)
class BackupState:
    """Everything the routes reach, built once in the lifespan."""

    scheduler: BackupScheduler
    settings: BackupSettings


State = Annotated[BackupState, Depends(state_dependency(BackupState))]
