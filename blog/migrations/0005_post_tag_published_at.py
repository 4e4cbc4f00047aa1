"""Make the post-tag table an explicit model, PostTag, with a copy of the post's
publication time, so related posts read each tag's newest posts from one index.

The table and its rows stay as they are (state-only change to a `through` model);
the new column is filled here and kept exact by two triggers, whatever writes the
rows (the ORM, .update(), bulk loads, SQL)."""

import django.db.models.deletion
from django.db import migrations, models

SYNC_SQL = """
ALTER TABLE blog_post_tags ADD COLUMN published_at timestamptz NULL;

CREATE FUNCTION inkstone_post_tag_published_at() RETURNS trigger AS $$
BEGIN
    SELECT CASE WHEN p.status = 'published' THEN p.published_at END
      INTO NEW.published_at
      FROM blog_post p WHERE p.id = NEW.post_id;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER inkstone_post_tag_published_at
BEFORE INSERT OR UPDATE OF post_id ON blog_post_tags
FOR EACH ROW EXECUTE FUNCTION inkstone_post_tag_published_at();

CREATE FUNCTION inkstone_post_published_at_to_tags() RETURNS trigger AS $$
BEGIN
    UPDATE blog_post_tags
       SET published_at = CASE WHEN NEW.status = 'published' THEN NEW.published_at END
     WHERE post_id = NEW.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER inkstone_post_published_at_to_tags
AFTER UPDATE OF status, published_at ON blog_post
FOR EACH ROW
WHEN (OLD.status IS DISTINCT FROM NEW.status
      OR OLD.published_at IS DISTINCT FROM NEW.published_at)
EXECUTE FUNCTION inkstone_post_published_at_to_tags();

UPDATE blog_post_tags pt
   SET published_at = p.published_at
  FROM blog_post p
 WHERE p.id = pt.post_id AND p.status = 'published';
"""

DROP_SQL = """
DROP TRIGGER inkstone_post_published_at_to_tags ON blog_post;
DROP FUNCTION inkstone_post_published_at_to_tags();
DROP TRIGGER inkstone_post_tag_published_at ON blog_post_tags;
DROP FUNCTION inkstone_post_tag_published_at();
ALTER TABLE blog_post_tags DROP COLUMN published_at;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("blog", "0004_title_search_vector"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PostTag",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "published_at",
                            models.DateTimeField(editable=False, null=True),
                        ),
                        (
                            "post",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                to="blog.post",
                            ),
                        ),
                        (
                            "tag",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                to="blog.tag",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "blog_post_tags",
                        "unique_together": {("post", "tag")},
                    },
                ),
                migrations.AlterField(
                    model_name="post",
                    name="tags",
                    field=models.ManyToManyField(
                        blank=True,
                        related_name="posts",
                        through="blog.PostTag",
                        to="blog.tag",
                        verbose_name="tags",
                    ),
                ),
            ],
            database_operations=[migrations.RunSQL(SYNC_SQL, DROP_SQL)],
        ),
        migrations.AddIndex(
            model_name="posttag",
            index=models.Index(
                fields=["tag", "-published_at", "-post"],
                condition=models.Q(published_at__isnull=False),
                name="post_tag_newest_idx",
            ),
        ),
    ]
