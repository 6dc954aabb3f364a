"""The production gunicorn settings (deploy/gunicorn.conf.py) with two changes for measuring:
no access log (a line per request would be the same cost on both sides of every ratio, and
would fill the disk) and no worker recycling (``max_requests``: a worker restarting mid-round,
Django imports and all, would land in whichever side happened to reach the count)."""

from pathlib import Path

exec((Path(__file__).resolve().parent.parent / "deploy" / "gunicorn.conf.py").read_text())

accesslog = None
max_requests = 0
max_requests_jitter = 0
backlog = 2048
