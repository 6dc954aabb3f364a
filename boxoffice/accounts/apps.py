from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "boxoffice.accounts"
    label = "accounts"
