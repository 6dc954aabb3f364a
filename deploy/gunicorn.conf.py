"""gunicorn settings for boxoffice. ``scripts/serve`` runs the production server with them:
``gunicorn -c deploy/gunicorn.conf.py -k uvicorn_worker.UvicornWorker config.asgi:application``
(streams as coroutines, the rest of the API in WEB_THREADS threads per process). The plain WSGI
form (``config.wsgi:application``, sync or gthread workers) still works, streams excepted
(they then poll and end after LIVE_WSGI_STREAM_SECONDS).

Web processes are stateless: every guarantee lives in PostgreSQL, so run as many processes
and hosts as the load needs. Each process keeps persistent database connections
(DB_CONN_MAX_AGE); size PostgreSQL's max_connections for workers x threads x hosts.
"""

import multiprocessing
import os

# In a container every interface is the container's own: listening on all is the point.
_host = os.environ.get("HOST", "0.0.0.0")  # noqa: S104
bind = os.environ.get("GUNICORN_BIND", f"{_host}:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so slow leaks cannot accumulate.
max_requests = 5000
max_requests_jitter = 500
# Trust X-Forwarded-* only from the proxy in front (set FORWARDED_ALLOW_IPS to its address).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn 27's control socket defaults to one path per machine user (~/.gunicorn/gunicorn.ctl):
# two servers on one host would fight over it. Nothing here uses it.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(L)ss rid=%({x-request-id}o)s'
