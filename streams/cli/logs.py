"""Logs as JSON lines, when OPTOUT_LOG_FORMAT=json: one object per line for log shippers."""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

__all__ = ["JsonFormatter", "TEXT_FORMAT", "configure_logging", "json_logging_config"]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def json_logging_config(level: str) -> dict[str, Any]:
    """A logging.config.dictConfig that writes JSON lines to standard error."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
    }


TEXT_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"  # as Faust's own


def configure_logging(level: str, log_format: str) -> dict[str, Any] | None:
    """Set up logging for the command line now; return the config the Faust worker should
    apply again when it takes over (None: Faust's own text format)."""
    if log_format == "json":
        config = json_logging_config(level)
        logging.config.dictConfig(config)
        return config
    logging.basicConfig(level=level.upper(), format=TEXT_FORMAT)
    return None
