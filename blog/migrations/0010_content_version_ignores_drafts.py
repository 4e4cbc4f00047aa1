"""Bump the content version only for changes a reader can see. Saving a draft bumped
it (a statement-level trigger fires even for a statement that changes no row, such as
setting a draft's unchanged tags): every draft save emptied the page cache for all
readers, and the pages' Last-Modified told the world when an author saved one.

Posts and post-tag rows now count only when a row before or after the change belongs
to a published post (scheduled ones included: they go live by themselves). The
statement-level triggers read the changed rows from transition tables, which
PostgreSQL allows for one event a trigger; TRUNCATE still bumps. A new tag or a new
account shows nowhere until a published post has it (which bumps), so creating one no
longer does.
"""

from django.db import migrations

BUMP = """
        INSERT INTO blog_contentversion (id, version, changed_at)
        VALUES (1, 1, clock_timestamp())
        ON CONFLICT (id) DO UPDATE
        SET version = blog_contentversion.version + 1, changed_at = clock_timestamp();
"""


def visible_rows_function(name: str, rows: str) -> str:
    """A trigger function that bumps when `rows` (a query over a transition table
    named by %s) finds a row; each table is looked at in its own statement, as only
    the ones the event has exist."""
    return f"""
CREATE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        IF EXISTS ({rows % "new_rows"}) THEN {BUMP} RETURN NULL; END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        IF EXISTS ({rows % "old_rows"}) THEN {BUMP} END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""


FUNCTIONS = {
    "inkstone_bump_for_posts": "SELECT 1 FROM %s r WHERE r.status = 'published'",
    "inkstone_bump_for_post_tags": (
        "SELECT 1 FROM %s r JOIN blog_post p ON p.id = r.post_id "
        "WHERE p.status = 'published'"
    ),
}
TABLES = {"blog_post": "inkstone_bump_for_posts", "blog_post_tags": "inkstone_bump_for_post_tags"}


def triggers(table: str, function: str) -> str:
    return f"""
DROP TRIGGER inkstone_content_version ON {table};
CREATE TRIGGER inkstone_content_version_insert AFTER INSERT ON {table}
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER inkstone_content_version_update AFTER UPDATE ON {table}
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER inkstone_content_version_delete AFTER DELETE ON {table}
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER inkstone_content_version AFTER TRUNCATE ON {table}
FOR EACH STATEMENT EXECUTE FUNCTION inkstone_bump_content_version();
"""


def restore(table: str) -> str:
    return f"""
DROP TRIGGER inkstone_content_version_insert ON {table};
DROP TRIGGER inkstone_content_version_update ON {table};
DROP TRIGGER inkstone_content_version_delete ON {table};
DROP TRIGGER inkstone_content_version ON {table};
CREATE TRIGGER inkstone_content_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
ON {table} FOR EACH STATEMENT EXECUTE FUNCTION inkstone_bump_content_version();
"""


STATEMENT_TRIGGER = """
DROP TRIGGER inkstone_content_version ON {table};
CREATE TRIGGER inkstone_content_version AFTER {events} ON {table}
FOR EACH STATEMENT EXECUTE FUNCTION inkstone_bump_content_version();
"""
USER_COLUMNS = (
    "username, display_name, first_name, last_name, bio_html, avatar, website, "
    "is_active"
)
WITH_INSERT = {
    "blog_tag": "INSERT OR UPDATE OR DELETE OR TRUNCATE",
    "accounts_user": f"INSERT OR DELETE OR UPDATE OF {USER_COLUMNS}",
}
WITHOUT_INSERT = {
    "blog_tag": "UPDATE OR DELETE OR TRUNCATE",
    "accounts_user": f"DELETE OR UPDATE OF {USER_COLUMNS}",
}

FORWARD_SQL = (
    "".join(visible_rows_function(name, rows) for name, rows in FUNCTIONS.items())
    + "".join(triggers(table, function) for table, function in TABLES.items())
    + "".join(STATEMENT_TRIGGER.format(table=t, events=e) for t, e in WITHOUT_INSERT.items())
)
BACKWARD_SQL = (
    "".join(restore(table) for table in TABLES)
    + "".join(f"DROP FUNCTION {name}();\n" for name in FUNCTIONS)
    + "".join(STATEMENT_TRIGGER.format(table=t, events=e) for t, e in WITH_INSERT.items())
)


class Migration(migrations.Migration):
    dependencies = [
        ("blog", "0009_clean_titles_and_tag_names"),
        ("accounts", "0001_initial"),
    ]

    operations = [migrations.RunSQL(FORWARD_SQL, BACKWARD_SQL)]
