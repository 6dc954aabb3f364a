"""``seed_demo`` creates logins with published passwords (admin / boxoffice-admin): it must never
run by accident against a production database (DEBUG off) unless the operator insists."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from boxoffice.accounts.models import User

pytestmark = pytest.mark.django_db


def test_refused_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError) as refused:
        call_command("seed_demo", days=1)
    message = str(refused.value)
    assert "DEBUG" in message
    assert "--force" in message
    assert not User.objects.exists()


def test_forced_without_debug(settings, capsys):
    settings.DEBUG = False
    call_command("seed_demo", days=1, force=True)
    assert User.objects.get(username="admin").check_password("boxoffice-admin")
    assert "--force" in capsys.readouterr().err


def test_runs_with_debug(settings):
    settings.DEBUG = True
    call_command("seed_demo", days=1)
    assert User.objects.filter(username__in=["admin", "customer"]).count() == 2


def test_refused_from_the_command_line_too(settings):
    """The flag is a real option of the command (``manage.py seed_demo --force``)."""
    from django.core.management import get_commands, load_command_class

    command = load_command_class(get_commands()["seed_demo"], "seed_demo")
    options = command.create_parser("manage.py", "seed_demo").parse_args(["--force"])
    assert options.force is True
