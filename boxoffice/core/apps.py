from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The ground floor: core imports nothing of ours. Apps above it register with it (schema
    extensions, housekeeping) in their own ``AppConfig.ready``."""

    name = "boxoffice.core"
    label = "core"
    verbose_name = "boxoffice core"
