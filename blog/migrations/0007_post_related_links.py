"""Store each published post's related posts, as its page links them, and keep them
exact with triggers: the article reads one row instead of ranking a few hundred
candidates on every request (blog.views.ARTICLE_SQL).

A post's related posts are picked among the posts published before it (as Hugo does
by default): most shared tags first (of the post's first RELATED_TAGS tags by name),
then newest, among the RELATED_CANDIDATES_PER_TAG posts of each shared tag just
before it. They depend on older posts only, so the list of a post that is live never
changes with the clock, and publishing a new post changes no other post's list. A
post's list changes only when, among the candidates of some post after it, a post is
published, unpublished, moved in time, retagged, renamed or deleted.

- `blog_post_related` holds each post's list as a JSON array of [id, title, slug,
  published_at], NULL while not computed (drafts keep NULL). It is not a model: the
  ORM never reads or writes it, so saving a post cannot write back a list read
  earlier, and filling it does not count as a change of content (the content
  version's triggers are on the models' tables). Its rows go with their posts
  (DELETE and TRUNCATE triggers); a post that never had tags has none.
- Every change that can change some post's list changes a post-tag row: its
  published_at (migration 0005) or its post's tag ids (0006), or the row itself. The
  triggers on blog_post_tags set the list to NULL for each post whose candidates
  held the changed rows (the posts just after them in their tags), and for the rows'
  own posts; title and slug changes of a post do the same from its rows.
- A deferred trigger computes each NULL list at commit, when the transaction's
  changes are all made. Until then (and for previews) the article computes it.
"""

from django.db import migrations

RELATED_POSTS = 5
RELATED_TAGS = 10
RELATED_CANDIDATES_PER_TAG = 100

FORWARD_SQL = f"""
CREATE TABLE blog_post_related (
    post_id bigint PRIMARY KEY,
    links json NULL
);

CREATE FUNCTION inkstone_related_links_post_deleted() RETURNS trigger AS $$
BEGIN
    DELETE FROM blog_post_related WHERE post_id = OLD.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER inkstone_related_links_post_deleted
AFTER DELETE ON blog_post
FOR EACH ROW EXECUTE FUNCTION inkstone_related_links_post_deleted();

CREATE FUNCTION inkstone_related_links_posts_truncated() RETURNS trigger AS $$
BEGIN
    TRUNCATE blog_post_related;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER inkstone_related_links_posts_truncated
AFTER TRUNCATE ON blog_post
FOR EACH STATEMENT EXECUTE FUNCTION inkstone_related_links_posts_truncated();

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

-- Where a post-tag row is: its post, its tag and the post's publication time while
-- the post is published.
CREATE TYPE inkstone_post_tag_position AS (
    post_id bigint, tag_id bigint, published_at timestamptz
);

-- Forget the lists that the changed post-tag rows can be in: `gone` are rows as they
-- were (deleted, or before an update), `come` rows as they are now. A post's
-- candidates in a tag are the {RELATED_CANDIDATES_PER_TAG} published just before it,
-- so a row is in the lists of the posts just after it: of each tag and side, those
-- between the statement's first and last row and the {RELATED_CANDIDATES_PER_TAG}
-- after its last. (A post that had a gone row among its candidates and now has more
-- than that many rows between, has a row that came among them.)
CREATE FUNCTION inkstone_related_links_forget(
    gone inkstone_post_tag_position[], come inkstone_post_tag_position[]
)
RETURNS void AS $$
DECLARE
    stale bigint[];
BEGIN
    WITH changed AS (
        SELECT post_id, tag_id, published_at, false AS brought_in FROM unnest(gone)
        UNION ALL
        SELECT post_id, tag_id, published_at, true FROM unnest(come)
    ), side AS (
        SELECT tag_id, brought_in,
               (array_agg(published_at ORDER BY published_at, post_id))[1] AS lo_at,
               (array_agg(post_id ORDER BY published_at, post_id))[1] AS lo_id,
               (array_agg(published_at ORDER BY published_at DESC, post_id DESC))[1]
                   AS hi_at,
               (array_agg(post_id ORDER BY published_at DESC, post_id DESC))[1] AS hi_id
        FROM changed WHERE published_at IS NOT NULL
        GROUP BY tag_id, brought_in
    )
    SELECT array_agg(DISTINCT post_id) INTO stale FROM (
        SELECT post_id FROM changed
        UNION ALL
        SELECT pt.post_id FROM side JOIN blog_post_tags pt ON pt.tag_id = side.tag_id
        WHERE pt.published_at IS NOT NULL
          AND (pt.published_at, pt.post_id) > (side.lo_at, side.lo_id)
          AND (pt.published_at, pt.post_id) < (side.hi_at, side.hi_id)
        UNION ALL
        SELECT next_rows.post_id
        FROM side CROSS JOIN LATERAL (
            SELECT pt.post_id FROM blog_post_tags pt
            WHERE pt.tag_id = side.tag_id
              AND pt.published_at IS NOT NULL
              AND (pt.published_at, pt.post_id) > (side.hi_at, side.hi_id)
            ORDER BY pt.published_at, pt.post_id
            LIMIT {RELATED_CANDIDATES_PER_TAG}
        ) AS next_rows
    ) AS affected;
    -- Locked in id order, as inkstone_sync_post_tag_ids locks posts: no deadlock
    -- between them.
    INSERT INTO blog_post_related (post_id, links)
    SELECT id, NULL FROM (
        SELECT id FROM blog_post WHERE id = ANY (stale) ORDER BY id FOR NO KEY UPDATE
    ) AS post
    ON CONFLICT (post_id) DO UPDATE SET links = NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION inkstone_related_links_rows_changed() RETURNS trigger AS $$
DECLARE
    gone_rows inkstone_post_tag_position[] := '{{}}';
    come_rows inkstone_post_tag_position[] := '{{}}';
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        gone_rows := ARRAY(SELECT (o.post_id, o.tag_id, o.published_at)
                                  ::inkstone_post_tag_position FROM gone o);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        come_rows := ARRAY(SELECT (n.post_id, n.tag_id, n.published_at)
                                  ::inkstone_post_tag_position FROM come n);
    END IF;
    PERFORM inkstone_related_links_forget(gone_rows, come_rows);
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

-- A post's title and slug are in the lists of the posts just after it. (Compared
-- here, not in a WHEN clause or an UPDATE OF list: those would stop a later
-- migration from changing the columns' types.)
CREATE FUNCTION inkstone_related_links_post_renamed() RETURNS trigger AS $$
BEGIN
    IF OLD.title IS NOT DISTINCT FROM NEW.title AND OLD.slug IS NOT DISTINCT FROM NEW.slug
    THEN
        RETURN NULL;
    END IF;
    PERFORM inkstone_related_links_forget(
        '{{}}',
        ARRAY(SELECT (pt.post_id, pt.tag_id, pt.published_at)::inkstone_post_tag_position
              FROM blog_post_tags pt WHERE pt.post_id = NEW.id));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER inkstone_related_links_post_renamed
AFTER UPDATE ON blog_post
FOR EACH ROW EXECUTE FUNCTION inkstone_related_links_post_renamed();

-- Renaming a tag can change which are the first {RELATED_TAGS} tags of a post that
-- has more.
CREATE FUNCTION inkstone_related_links_tag_renamed() RETURNS trigger AS $$
BEGIN
    IF OLD.name IS NOT DISTINCT FROM NEW.name THEN
        RETURN NULL;
    END IF;
    UPDATE blog_post_related SET links = NULL
    WHERE post_id IN (SELECT post_id FROM blog_post_tags
                      WHERE tag_id = NEW.id
                        AND cardinality(post_tag_ids) > {RELATED_TAGS});
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER inkstone_related_links_tag_renamed
AFTER UPDATE ON blog_tag
FOR EACH ROW EXECUTE FUNCTION inkstone_related_links_tag_renamed();

CREATE FUNCTION inkstone_related_links_refresh() RETURNS trigger AS $$
BEGIN
    UPDATE blog_post_related r
       SET links = inkstone_related_links(p.id, p.published_at)
      FROM blog_post p
     WHERE r.post_id = NEW.post_id AND r.links IS NULL
       AND p.id = r.post_id AND p.status = 'published' AND p.published_at IS NOT NULL;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER inkstone_related_links_refresh
AFTER INSERT OR UPDATE ON blog_post_related
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW WHEN (NEW.links IS NULL)
EXECUTE FUNCTION inkstone_related_links_refresh();

INSERT INTO blog_post_related (post_id, links)
SELECT id, inkstone_related_links(id, published_at)
FROM blog_post
WHERE status = 'published' AND published_at IS NOT NULL;
"""

BACKWARD_SQL = """
DROP TRIGGER inkstone_related_links_refresh ON blog_post_related;
DROP FUNCTION inkstone_related_links_refresh();
DROP TRIGGER inkstone_related_links_tag_renamed ON blog_tag;
DROP FUNCTION inkstone_related_links_tag_renamed();
DROP TRIGGER inkstone_related_links_post_renamed ON blog_post;
DROP FUNCTION inkstone_related_links_post_renamed();
DROP TRIGGER inkstone_related_links_updated ON blog_post_tags;
DROP TRIGGER inkstone_related_links_deleted ON blog_post_tags;
DROP TRIGGER inkstone_related_links_inserted ON blog_post_tags;
DROP FUNCTION inkstone_related_links_rows_changed();
DROP FUNCTION inkstone_related_links_forget(
    inkstone_post_tag_position[], inkstone_post_tag_position[]
);
DROP TYPE inkstone_post_tag_position;
DROP FUNCTION inkstone_related_links(bigint, timestamptz);
DROP TRIGGER inkstone_related_links_posts_truncated ON blog_post;
DROP FUNCTION inkstone_related_links_posts_truncated();
DROP TRIGGER inkstone_related_links_post_deleted ON blog_post;
DROP FUNCTION inkstone_related_links_post_deleted();
DROP TABLE blog_post_related;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("blog", "0006_post_tag_ids"),
    ]

    operations = [migrations.RunSQL(FORWARD_SQL, BACKWARD_SQL)]
