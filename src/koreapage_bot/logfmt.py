"""Log records as one JSON object per line (`--log-format json`, KOREAPAGE_LOG_FORMAT=json),
for log shippers; the default text format stays the readable one.

Each object has `time` (UTC, ISO 8601), `level`, `logger` and `message`, then the record's
structured fields, given with `extra=` where the record is made: `event` ("polled",
"delivery_dead", "subscription_paused"…) and the ids it is about (`feed_id`, `brief_id`,
`delivery_id`, `subscription_id`, `platform`…), and `exception` with the traceback when
there is one. A field that is not JSON is written as its text.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

# What every LogRecord has: anything else on a record came from `extra=`.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in out:
                out[key] = _jsonable(value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        line = json.dumps(out, ensure_ascii=False)
        # One object per line, also for readers that split lines at U+2028 and U+2029 (JSON
        # allows them raw inside strings).
        return line.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def formatter(name: str) -> logging.Formatter:
    """The formatter for a `--log-format` value ("text" or "json")."""
    if name == "json":
        return JsonFormatter()
    return logging.Formatter(TEXT_FORMAT)
