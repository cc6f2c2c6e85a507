"""gunicorn settings for ``make run`` and production; override with env variables.

Threaded workers (gthread) with more threads than the app lets work at once: the app
admits ``LOAD_SHED_MAX_IN_FLIGHT`` requests per worker and lets a few more wait briefly
before answering 503 (portal/web/load_shedding.py). The spare threads are what lets a
worker shed quickly and answer ``/healthz`` while it is saturated; without them excess
requests would queue unseen inside gunicorn's thread pool. One worker per core: Python
runs one thread of a process at a time, so more workers than cores only add contention.
See bench/README.md, "Load", for the figures behind these numbers.
"""

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count())))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
# The app is imported in each worker after fork, so every worker opens its own
# database connections; with preload on, post_fork drops the inherited pool.
preload_app = os.environ.get("GUNICORN_PRELOAD", "") == "1"
# The app writes one JSON line per request (portal/web/request_log.py); gunicorn's own
# access log would repeat it, with query strings unredacted. GUNICORN_ACCESS_LOG=- turns it on.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"


def worker_exit(server, worker):
    # Tool views and search queries written behind (portal/activity.py): write what is left.
    from portal.activity import flush_all

    flush_all()


def post_fork(server, worker):
    if preload_app:
        from portal.database import dispose_engine_after_fork
        from wsgi import app

        dispose_engine_after_fork(app)
