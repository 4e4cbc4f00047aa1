"""Tell listening processes when the content version changes: NOTIFY on
CONTENT_CHANNEL at each bump. PostgreSQL delivers it when the change commits (once
a transaction, however many statements bumped the version), so every process learns
of an edit made by any other process or replica (blog.change_listener) at once,
instead of trusting the version it last read for PAGE_CACHE_TOKEN_TTL seconds.

A trigger on the version row itself, not a line in the bump function: a bump made by
hand (bench/seed.py, a restore) notifies too.
"""

from django.db import migrations

CONTENT_CHANNEL = "inkstone_content"

FORWARD_SQL = f"""
CREATE FUNCTION inkstone_notify_content_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('{CONTENT_CHANNEL}', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER inkstone_content_changed
AFTER INSERT OR UPDATE ON blog_contentversion
FOR EACH STATEMENT EXECUTE FUNCTION inkstone_notify_content_changed();
"""

BACKWARD_SQL = """
DROP TRIGGER IF EXISTS inkstone_content_changed ON blog_contentversion;
DROP FUNCTION IF EXISTS inkstone_notify_content_changed();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("blog", "0007_post_related_links"),
    ]

    operations = [migrations.RunSQL(FORWARD_SQL, BACKWARD_SQL)]
