from django.apps import AppConfig


class ScheduleConfig(AppConfig):
    name = "boxoffice.schedule"
    label = "schedule"
