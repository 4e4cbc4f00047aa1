"""Give each post-tag row a copy of its post's tag ids, kept by triggers, and carry it
in the index of each tag's newest posts: related posts count the tags a candidate
shares with the article from that index entry instead of probing the candidate's own
post-tag rows (blog.views.ARTICLE_SQL).

The triggers recompute the ids of every post whose rows a statement inserted,
deleted or moved, whatever wrote them (the ORM, bulk loads, SQL). They lock those
posts first (FOR NO KEY UPDATE, as an UPDATE of the post would), so that two
transactions changing one post's tags at once cannot each leave the other's tag out.
"""

import django.contrib.postgres.fields
from django.db import migrations, models

SYNC_SQL = """
ALTER TABLE blog_post_tags ADD COLUMN post_tag_ids bigint[] NOT NULL DEFAULT '{}';

CREATE FUNCTION inkstone_sync_post_tag_ids(post_ids bigint[]) RETURNS void AS $$
BEGIN
    PERFORM 1 FROM blog_post WHERE id = ANY (post_ids) ORDER BY id FOR NO KEY UPDATE;
    UPDATE blog_post_tags pt
       SET post_tag_ids = s.tag_ids
      FROM (SELECT post_id, array_agg(tag_id ORDER BY tag_id) AS tag_ids
              FROM blog_post_tags
             WHERE post_id = ANY (post_ids)
             GROUP BY post_id) s
     WHERE pt.post_id = s.post_id AND pt.post_tag_ids IS DISTINCT FROM s.tag_ids;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION inkstone_post_tag_ids_changed() RETURNS trigger AS $$
BEGIN
    PERFORM inkstone_sync_post_tag_ids(ARRAY(SELECT DISTINCT post_id FROM changed));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER inkstone_post_tag_ids_inserted
AFTER INSERT ON blog_post_tags REFERENCING NEW TABLE AS changed
FOR EACH STATEMENT EXECUTE FUNCTION inkstone_post_tag_ids_changed();

CREATE TRIGGER inkstone_post_tag_ids_deleted
AFTER DELETE ON blog_post_tags REFERENCING OLD TABLE AS changed
FOR EACH STATEMENT EXECUTE FUNCTION inkstone_post_tag_ids_changed();

CREATE FUNCTION inkstone_post_tag_ids_moved() RETURNS trigger AS $$
BEGIN
    PERFORM inkstone_sync_post_tag_ids(ARRAY[OLD.post_id, NEW.post_id]);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER inkstone_post_tag_ids_moved
AFTER UPDATE OF post_id, tag_id ON blog_post_tags
FOR EACH ROW
WHEN (OLD.post_id IS DISTINCT FROM NEW.post_id OR OLD.tag_id IS DISTINCT FROM NEW.tag_id)
EXECUTE FUNCTION inkstone_post_tag_ids_moved();

-- Every existing row, as inkstone_sync_post_tag_ids would, without locking every post.
UPDATE blog_post_tags pt
   SET post_tag_ids = s.tag_ids
  FROM (SELECT post_id, array_agg(tag_id ORDER BY tag_id) AS tag_ids
          FROM blog_post_tags GROUP BY post_id) s
 WHERE pt.post_id = s.post_id;
"""

DROP_SQL = """
DROP TRIGGER inkstone_post_tag_ids_moved ON blog_post_tags;
DROP FUNCTION inkstone_post_tag_ids_moved();
DROP TRIGGER inkstone_post_tag_ids_deleted ON blog_post_tags;
DROP TRIGGER inkstone_post_tag_ids_inserted ON blog_post_tags;
DROP FUNCTION inkstone_post_tag_ids_changed();
DROP FUNCTION inkstone_sync_post_tag_ids(bigint[]);
ALTER TABLE blog_post_tags DROP COLUMN post_tag_ids;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("blog", "0005_post_tag_published_at"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="posttag",
                    name="post_tag_ids",
                    field=django.contrib.postgres.fields.ArrayField(
                        base_field=models.BigIntegerField(),
                        default=list,
                        editable=False,
                        size=None,
                    ),
                ),
            ],
            database_operations=[migrations.RunSQL(SYNC_SQL, DROP_SQL)],
        ),
        migrations.RemoveIndex(model_name="posttag", name="post_tag_newest_idx"),
        migrations.AddIndex(
            model_name="posttag",
            index=models.Index(
                condition=models.Q(published_at__isnull=False),
                fields=["tag", "-published_at", "-post"],
                include=["post_tag_ids"],
                name="post_tag_newest_idx",
            ),
        ),
    ]
