from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo lab (``manage.py seed_demo``). It composes every domain app, so it sits on top:
    nothing imports it."""

    name = "demo"
    verbose_name = "Demo data"
