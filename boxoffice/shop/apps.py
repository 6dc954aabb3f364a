from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "boxoffice.shop"
    label = "shop"
    verbose_name = "Shop (customer pages and staff check-in)"
