"""The project's settings, unchanged but for the URLconf: see :mod:`bench.ceiling`."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.ceiling"
