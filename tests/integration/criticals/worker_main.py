"""The critical value loop as a process of its own, for the kill -9 test: settings from the
environment, consumer overrides (group, static membership) as JSON in argv[1]."""

from __future__ import annotations

import json
import sys

from infra.bootstrap import build_criticals
from infra.config.logging import configure_logging
from infra.config.settings import get_settings

if __name__ == "__main__":
    settings = get_settings()
    configure_logging(settings.log_level)
    build_criticals(settings, **json.loads(sys.argv[1])).run()
