"""Structured logs: one JSON object per line; never keys, tokens or personal data."""

from __future__ import annotations

import json
import logging
from typing import Any


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event as a JSON line; callers pass only non-personal, non-secret fields."""
    if logger.isEnabledFor(level):
        logger.log(level, json.dumps({"event": event, **fields}, default=str, sort_keys=True))


class JsonLineFormatter(logging.Formatter):
    """Wrap records that are not JSON already into `{"level", "logger", "msg"}` lines."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        body = json.loads(message) if message.startswith("{") else {"msg": message}
        body.update(level=record.levelname.lower(), logger=record.name)
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str, sort_keys=True)


def configure_logging(level: str = "info") -> None:
    """Send qcity logs to stderr as JSON lines (used by `qcity serve`)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger("qcity")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
