"""Run localstripe with its state in a file of our own.

localstripe keeps every object in ``/tmp/localstripe.pickle``, a path written into its code,
and rewrites that file on every change, even when started with ``--from-scratch``. Several
emulators on one machine (other test runs, ``make run``) would then share, and clobber, one
file. This wrapper points the two methods that read and write it at ``$LOCALSTRIPE_STATE`` and
writes atomically, so a restarted emulator finds exactly the objects it had (PaymentIntents
survive a restart, as they do at Stripe). Everything else is localstripe's own server.

    LOCALSTRIPE_STATE=/some/dir/state.pickle python localstripe_isolated.py --port 8420
"""

from __future__ import annotations

import os
import pickle

from localstripe import resources

STATE = os.environ["LOCALSTRIPE_STATE"]


def _load(self) -> None:  # type: ignore[no-untyped-def]
    try:
        with open(STATE, "rb") as f:
            old = pickle.load(f)  # our own file
    except FileNotFoundError:
        return
    self.clear()
    self.update(old)


def _dump(self) -> None:  # type: ignore[no-untyped-def]
    tmp = f"{STATE}.tmp"
    with open(tmp, "wb") as f:
        pickle.dump(dict(self), f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, STATE)


resources.Store.try_load_from_disk = _load
resources.Store.dump_to_disk = _dump

if __name__ == "__main__":
    from localstripe.server import start

    start()
