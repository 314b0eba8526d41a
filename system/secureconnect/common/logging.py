"""JSON logs: one object per line on stdout, with service name and request id.

`configure_logging` is called once per process (before uvicorn starts) and
routes uvicorn's own loggers through the same formatter; the access log is
written by `AccessLogMiddleware`, so uvicorn's plain-text one is silenced.
"""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

#: The id of the request being handled in this task, "-" outside requests.
request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
#: Query parameters that carry credentials (the WebSocket token) and bare JWTs.
CREDENTIAL_QUERY = re.compile(r"((?:access_)?token=)[^&\s\"']+", re.IGNORECASE)
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+")


def redact(text: str) -> str:
    """Credentials out of a log line: uvicorn logs a WebSocket's full URL, token included."""
    return JWT.sub("<redacted>", CREDENTIAL_QUERY.sub(r"\1<redacted>", text))


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.request_id = request_id_var.get()
        record.msg, record.args = redact(record.getMessage()), None
        record.__dict__.pop("color_message", None)  # uvicorn's ANSI copy of the message
        return True


def _skip_unused_record_fields() -> None:
    """The JSON line holds none of the caller's file and line, thread or process, so no
    record gathers them: 2-3 us of the ~20 us an access line costs (the logging HOWTO's
    "Optimization" switches)."""
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None


def configure_logging(service: str, level: str = "INFO") -> None:
    _skip_unused_record_fields()
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        JsonFormatter(
            LOG_FORMAT,
            rename_fields={"asctime": "timestamp", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
    )
    handler.addFilter(_ContextFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every request at INFO: on the gateway that doubles the log
    # volume (and its cost) next to our own access log line.
    logging.getLogger("httpx").setLevel(logging.WARNING)
