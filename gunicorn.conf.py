"""gunicorn's configuration, read from the working directory (the project root) on every start.

Workers: PIM_WEB_WORKERS, or WEB_CONCURRENCY as on most platforms (the same hint `check --deploy`
reads to warn about per-process rate limits without PIM_CACHE_URL). A --workers flag still wins.
"""

import os

import gunicorn.http.wsgi

workers = int(os.environ.get("PIM_WEB_WORKERS") or os.environ.get("WEB_CONCURRENCY") or 1)

# gunicorn writes "Server: gunicorn" into every response itself (after the application and any
# middleware have run), from this module-level name; announce no product and no version.
gunicorn.http.wsgi.SERVER = "pim"


def child_exit(server, worker):
    """With PROMETHEUS_MULTIPROC_DIR (several workers share their metrics through files there), a worker's
    live gauges go with it; its counters and histograms stay counted."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
