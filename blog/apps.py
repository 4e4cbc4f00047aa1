from django.apps import AppConfig
from django.db.backends.signals import connection_created


def keep_one_prepared_statement(sender, connection, **kwargs):
    """The article statement is the only one Inkstone prepares (blog.views). The
    ORM binds on the client and never prepares, but while preparing is on, psycopg
    would still remember the text of its last 100 queries, parameters written in
    (10 MB for 100 KB posts saved in the admin)."""
    connection.connection.prepared_max = 1


class BlogConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "blog"

    def ready(self):
        connection_created.connect(keep_one_prepared_statement)
