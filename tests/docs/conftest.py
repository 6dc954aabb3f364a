"""The docs pages in Chromium: the admin suite's Playwright fixture (Debian's chromium, never a
downloaded browser; skipped where it is missing unless CI=true)."""

from tests.admin.conftest import chromium  # noqa: F401  (a fixture, used by name)
