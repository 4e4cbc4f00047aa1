"""Store each published post's related posts, as its page links them, and keep them
exact with triggers: the article reads one column instead of ranking a few hundred
candidates on every request (blog.views.ARTICLE_SQL).

A post's related posts are picked among the posts published before it (as Hugo does
by default): most shared tags first (of the post's first RELATED_TAGS tags by name),
then newest, among the RELATED_CANDIDATES_PER_TAG posts of each shared tag just
before it. They depend on older posts only, so the list of a post that is live never
changes with the clock, and publishing a new post changes no other post's list. A
post's list changes only when, among the candidates of some post after it, a post is
published, unpublished, moved in time, retagged, renamed or deleted.

- `blog_post.related_links` is a JSON array of [id, title, slug, published_at], or
  NULL while not computed (drafts keep NULL). It is not a model field: the ORM never
  reads or writes it, so saving a post cannot write back a list read earlier.
- Every change that can change some post's list changes a post-tag row: its
  published_at (migration 0005) or its post's tag ids (0006), or the row itself. The
  triggers on blog_post_tags set related_links to NULL on each post whose candidates
  held the changed rows (the posts just after them in their tags), and on the rows'
  own posts; title and slug changes of a post do the same from its rows.
- A deferred trigger computes each NULL list at commit, when the transaction's
  changes are all made. Until then (and for previews) the article computes it.
"""

from django.db import migrations

RELATED_POSTS = 5
RELATED_TAGS = 10
RELATED_CANDIDATES_PER_TAG = 100

FORWARD_SQL = f"""
ALTER TABLE blog_post ADD COLUMN related_links json NULL;

-- The related posts of `article` as if it were published at `at`.
CREATE FUNCTION inkstone_related_links(article bigint, at timestamptz) RETURNS json
AS $$
BEGIN
    RETURN (
        WITH shared_tag AS (
            SELECT t.id
            FROM blog_post_tags pt JOIN blog_tag t ON t.id = pt.tag_id
            WHERE pt.post_id = article
            ORDER BY t.name LIMIT {RELATED_TAGS}
        ), shared AS (
            SELECT array_agg(id) AS tag_ids FROM shared_tag
        ), ranked AS (
            SELECT DISTINCT c.post_id, c.published_at, c.shared
            FROM shared_tag CROSS JOIN shared CROSS JOIN LATERAL (
                SELECT w.* FROM (
                    SELECT pt.post_id, pt.published_at,
                           CASE WHEN pt.post_tag_ids
                                     && array_remove(shared.tag_ids, shared_tag.id)
                                THEN (SELECT count(*)
                                      FROM unnest(pt.post_tag_ids) AS own(tag_id)
                                      WHERE own.tag_id = ANY (shared.tag_ids))
                                ELSE 1 END AS shared
                    FROM blog_post_tags pt
                    WHERE pt.tag_id = shared_tag.id
                      AND pt.published_at IS NOT NULL
                      AND (pt.published_at, pt.post_id) < (at, article)
                    ORDER BY pt.published_at DESC, pt.post_id DESC
                    LIMIT {RELATED_CANDIDATES_PER_TAG}
                ) AS w
                ORDER BY w.shared DESC, w.published_at DESC, w.post_id DESC
                LIMIT {RELATED_POSTS}
            ) AS c
            ORDER BY c.shared DESC, c.published_at DESC, c.post_id DESC
            LIMIT {RELATED_POSTS}
        )
        SELECT coalesce(json_agg(
                   json_build_array(p.id, p.title, p.slug, p.published_at)
                   ORDER BY r.shared DESC, r.published_at DESC, r.post_id DESC), '[]')
        FROM ranked r JOIN blog_post p ON p.id = r.post_id
    );
END;
$$ LANGUAGE plpgsql STABLE;

-- Forget the lists that the changed post-tag rows can be in: `gone` are rows as they
-- were (deleted, or before an update), `come` rows as they are now. A post's
-- candidates in a tag are the {RELATED_CANDIDATES_PER_TAG} published just before it,
-- so a row is in the lists of the posts just after it. For a row that is gone, up
-- to as many posts more as the statement brought into its tag.
CREATE FUNCTION inkstone_related_links_forget(gone blog_post_tags[], come blog_post_tags[])
RETURNS void AS $$
DECLARE
    stale bigint[];
BEGIN
    WITH changed AS (
        SELECT post_id, tag_id, published_at, false AS come FROM unnest(gone)
        UNION ALL
        SELECT post_id, tag_id, published_at, true FROM unnest(come)
    ), side AS (
        SELECT tag_id, come,
               (array_agg(published_at ORDER BY published_at, post_id))[1] AS lo_at,
               (array_agg(post_id ORDER BY published_at, post_id))[1] AS lo_id,
               (array_agg(published_at ORDER BY published_at DESC, post_id DESC))[1]
                   AS hi_at,
               (array_agg(post_id ORDER BY published_at DESC, post_id DESC))[1] AS hi_id
        FROM changed WHERE published_at IS NOT NULL
        GROUP BY tag_id, come
    ), brought AS (
        SELECT tag_id, count(*) AS rows FROM changed WHERE come GROUP BY tag_id
    )
    SELECT array_agg(DISTINCT post_id) INTO stale FROM (
        SELECT post_id FROM changed
        UNION ALL
        SELECT pt.post_id FROM side JOIN blog_post_tags pt ON pt.tag_id = side.tag_id
        WHERE pt.published_at IS NOT NULL
          AND (pt.published_at, pt.post_id) > (side.lo_at, side.lo_id)
          AND (pt.published_at, pt.post_id) < (side.hi_at, side.hi_id)
        UNION ALL
        SELECT after.post_id
        FROM side LEFT JOIN brought ON brought.tag_id = side.tag_id
        CROSS JOIN LATERAL (
            SELECT pt.post_id FROM blog_post_tags pt
            WHERE pt.tag_id = side.tag_id
              AND pt.published_at IS NOT NULL
              AND (pt.published_at, pt.post_id) > (side.hi_at, side.hi_id)
            ORDER BY pt.published_at, pt.post_id
            LIMIT {RELATED_CANDIDATES_PER_TAG}
                  + CASE WHEN side.come THEN 0 ELSE coalesce(brought.rows, 0) END
        ) AS after
    ) AS affected;
    -- In id order, as inkstone_sync_post_tag_ids locks posts: no deadlock between them.
    PERFORM 1 FROM blog_post WHERE id = ANY (stale) ORDER BY id FOR NO KEY UPDATE;
    UPDATE blog_post SET related_links = NULL WHERE id = ANY (stale);
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION inkstone_related_links_rows_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM inkstone_related_links_forget('{{}}', ARRAY(SELECT n FROM come n));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM inkstone_related_links_forget(ARRAY(SELECT o FROM gone o), '{{}}');
    ELSE
        PERFORM inkstone_related_links_forget(
            ARRAY(SELECT o FROM gone o), ARRAY(SELECT n FROM come n));
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER inkstone_related_links_inserted
AFTER INSERT ON blog_post_tags REFERENCING NEW TABLE AS come
FOR EACH STATEMENT EXECUTE FUNCTION inkstone_related_links_rows_changed();

CREATE TRIGGER inkstone_related_links_deleted
AFTER DELETE ON blog_post_tags REFERENCING OLD TABLE AS gone
FOR EACH STATEMENT EXECUTE FUNCTION inkstone_related_links_rows_changed();

CREATE TRIGGER inkstone_related_links_updated
AFTER UPDATE ON blog_post_tags REFERENCING OLD TABLE AS gone NEW TABLE AS come
FOR EACH STATEMENT EXECUTE FUNCTION inkstone_related_links_rows_changed();

-- A post's title and slug are in the lists of the posts just after it.
CREATE FUNCTION inkstone_related_links_post_renamed() RETURNS trigger AS $$
BEGIN
    PERFORM inkstone_related_links_forget(
        '{{}}', ARRAY(SELECT pt FROM blog_post_tags pt WHERE pt.post_id = NEW.id));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER inkstone_related_links_post_renamed
AFTER UPDATE OF title, slug ON blog_post
FOR EACH ROW
WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.slug IS DISTINCT FROM NEW.slug)
EXECUTE FUNCTION inkstone_related_links_post_renamed();

-- Renaming a tag can change which are the first {RELATED_TAGS} tags of a post that
-- has more.
CREATE FUNCTION inkstone_related_links_tag_renamed() RETURNS trigger AS $$
BEGIN
    UPDATE blog_post SET related_links = NULL
    WHERE id IN (SELECT post_id FROM blog_post_tags
                 WHERE tag_id = NEW.id
                   AND cardinality(post_tag_ids) > {RELATED_TAGS});
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER inkstone_related_links_tag_renamed
AFTER UPDATE OF name ON blog_tag
FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
EXECUTE FUNCTION inkstone_related_links_tag_renamed();

CREATE FUNCTION inkstone_related_links_refresh() RETURNS trigger AS $$
BEGIN
    UPDATE blog_post
       SET related_links = inkstone_related_links(id, published_at)
     WHERE id = NEW.id AND related_links IS NULL
       AND status = 'published' AND published_at IS NOT NULL;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER inkstone_related_links_refresh
AFTER INSERT OR UPDATE OF related_links ON blog_post
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW WHEN (NEW.related_links IS NULL)
EXECUTE FUNCTION inkstone_related_links_refresh();

UPDATE blog_post
   SET related_links = inkstone_related_links(id, published_at)
 WHERE status = 'published' AND published_at IS NOT NULL;
"""

BACKWARD_SQL = """
DROP TRIGGER inkstone_related_links_refresh ON blog_post;
DROP FUNCTION inkstone_related_links_refresh();
DROP TRIGGER inkstone_related_links_tag_renamed ON blog_tag;
DROP FUNCTION inkstone_related_links_tag_renamed();
DROP TRIGGER inkstone_related_links_post_renamed ON blog_post;
DROP FUNCTION inkstone_related_links_post_renamed();
DROP TRIGGER inkstone_related_links_updated ON blog_post_tags;
DROP TRIGGER inkstone_related_links_deleted ON blog_post_tags;
DROP TRIGGER inkstone_related_links_inserted ON blog_post_tags;
DROP FUNCTION inkstone_related_links_rows_changed();
DROP FUNCTION inkstone_related_links_forget(blog_post_tags[], blog_post_tags[]);
DROP FUNCTION inkstone_related_links(bigint, timestamptz);
ALTER TABLE blog_post DROP COLUMN related_links;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("blog", "0006_post_tag_ids"),
    ]

    operations = [migrations.RunSQL(FORWARD_SQL, BACKWARD_SQL)]
