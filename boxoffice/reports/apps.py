from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "boxoffice.reports"
    label = "reports"
