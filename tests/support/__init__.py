"""Helpers of the whole suite, one home each (fixtures stay in conftest files and call these):

- ``workers``: which xdist worker this is, and which Redis database is its own;
- ``net``: a free port, and polling for something another thread or process does;
- ``pgcluster``: a throwaway PostgreSQL cluster (the two-hosts and resilience tests);
- ``smtp``: a real SMTP server's inbox, one that can be restarted, and one that never greets;
- ``stripe``: localstripe as a process, its paginated lists, and webhooks that go nowhere;
- ``tasks``: running the worker's queued tasks in the test's process;
- ``auth``: the browser-like client (cookie login with CSRF checks) and its CSRF header;
- ``processes``: ``manage.py`` as a subprocess.
"""
