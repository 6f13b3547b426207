"""Structured logs: one JSON object a line (PIM_LOG_FORMAT=json).

Each line carries the time (UTC), level, logger, message and process, the exception when there is
one, and — for lines logged while a web request is served — its correlation id and client address:
the same correlation id as the audit events the request wrote and its `X-Correlation-ID` response
header, so an operator goes from a log line to the audit trail and back.
"""

import json
import logging
from datetime import UTC, datetime

from audit import context


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        bound = context.bound()
        if bound is not None:
            data["correlation_id"] = str(bound.correlation_id)
            if bound.client_ip:
                data["client_ip"] = bound.client_ip
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exception"] = record.exc_text
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return json.dumps(data, ensure_ascii=False, default=str)
