"""`python -m secureconnect.backup --host H --port P` runs the scheduler;
`... restore ...` and `... list ...` are the operator's commands (restore.py)."""

import sys

from secureconnect.backup.app import create_backup_app
from secureconnect.backup.restore import main
from secureconnect.backup.settings import BackupSettings
from secureconnect.common.server import serve

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("restore", "list"):
        sys.exit(main(sys.argv[1:]))
    serve(BackupSettings, create_backup_app)  # type: ignore[arg-type]
