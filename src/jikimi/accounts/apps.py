from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "jikimi.accounts"
    label = "accounts"
