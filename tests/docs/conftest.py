"""The docs pages in Chromium use the session's Playwright fixture (tests/conftest.py:
Debian's chromium, never a downloaded browser; skipped where it is missing unless CI=true)."""
