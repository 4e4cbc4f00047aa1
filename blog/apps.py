from django.apps import AppConfig
from django.conf import settings
from django.core.signals import request_started, setting_changed
from django.db.backends.signals import connection_created
from django.utils import timezone, translation


def activate_site_locale(**kwargs):
    """Each request starts in the site's language and time zone. Django falls back on
    the same settings when none is active, but only after a failed context-local
    lookup each time, and an article looks them up ~20 times (4% of its instructions).
    LocaleMiddleware, when LANGUAGE_NEGOTIATION is on, then activates the reader's
    language instead."""
    translation.activate(settings.LANGUAGE_CODE)
    timezone.activate(timezone.get_default_timezone())


def forget_site_time_zone(*, setting, **kwargs):
    # Django forgets the active language when LANGUAGE_CODE changes, not the zone.
    if setting == "TIME_ZONE":
        timezone.deactivate()


def prepare_connection(sender, connection, **kwargs):
    """Room for the reader statements Inkstone prepares (blog.views), and their
    generic plans. psycopg deallocates the oldest prepared statement beyond
    prepared_max, so one fewer would re-prepare at every switch between an article
    and a list. The ORM binds on the client and never prepares, but psycopg still
    remembers the text of its last prepared_max queries, parameters written in (each
    as large as the post saved in the admin), so the cap stays that small.
    PostgreSQL would plan the list statements anew on every run (0.4 ms of its CPU a
    page): with LIMIT and OFFSET unknown, the plan it keeps is estimated dearer than
    one planned for the values. The kept plans were checked for every list, deep page
    and article; they use the same indexes."""
    from .views import PREPARED_STATEMENTS

    pgconn = connection.connection
    pgconn.prepared_max = len(PREPARED_STATEMENTS)
    if pgconn.prepare_threshold is not None:
        pgconn.execute("SET plan_cache_mode = force_generic_plan")


class BlogConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "blog"

    def ready(self):
        connection_created.connect(prepare_connection)
        request_started.connect(activate_site_locale)
        setting_changed.connect(forget_site_time_zone)
