"""python -m secureconnect.migrations upgrade [REV] | downgrade REV | current | history"""

from __future__ import annotations

import argparse
from pathlib import Path

from alembic import command
from alembic.config import Config

from secureconnect.common.logging import configure_logging

SCRIPT_LOCATION = Path(__file__).resolve().parent


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    return config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m secureconnect.migrations")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("upgrade").add_argument("revision", nargs="?", default="head")
    sub.add_parser("downgrade").add_argument("revision")
    sub.add_parser("current")
    sub.add_parser("history")
    args = parser.parse_args(argv)
    configure_logging("migrations")
    config = alembic_config()
    if args.action == "upgrade":
        command.upgrade(config, args.revision)
    elif args.action == "downgrade":
        command.downgrade(config, args.revision)
    elif args.action == "current":
        command.current(config)
    else:
        command.history(config)


if __name__ == "__main__":
    main()
