from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The ground floor: core imports nothing of ours. Apps above it register with it (schema
    extensions, housekeeping) in their own ``AppConfig.ready``."""

    name = "boxoffice.core"
    label = "core"
    verbose_name = "boxoffice core"

    def ready(self) -> None:
        from . import housekeeping, idempotency, tasks

        # Core's own housekeeping: tasks left RUNNING by a dead worker go back in the queue,
        # idempotency keys past their replay window are dropped.
        housekeeping.register("requeue_stale_tasks", tasks.requeue_stale_tasks)
        housekeeping.register("drop_old_idempotency_keys", idempotency.drop_old_keys)
