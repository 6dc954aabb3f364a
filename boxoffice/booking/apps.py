from django.apps import AppConfig


class BookingConfig(AppConfig):
    name = "boxoffice.booking"
    label = "booking"
