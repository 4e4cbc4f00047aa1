"""Titles and tag names as blog.markdown.clean_line now saves them: without control
characters (one made every feed answer 500) or bidirectional overrides. Bodies are
re-rendered by renderer version 8 (rerender_posts), which shows controls as pictures.
"""

import re

from django.db import migrations

# From \x01: PostgreSQL text holds no NUL, nor can a pattern sent to it.
LINE_CONTROL = re.compile("[\x01-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def clean_line(text: str) -> str:
    return " ".join(LINE_CONTROL.sub(" ", text).split())


def clean(apps, schema_editor):
    Post = apps.get_model("blog", "Post")
    Tag = apps.get_model("blog", "Tag")
    for post in Post.objects.filter(title__regex=LINE_CONTROL.pattern):
        title = clean_line(post.title) or f"Post {post.pk}"
        Post.objects.filter(pk=post.pk).update(title=title)
    for tag in Tag.objects.filter(name__regex=LINE_CONTROL.pattern):
        name = clean_line(tag.name) or f"tag-{tag.pk}"
        if Tag.objects.filter(name=name).exclude(pk=tag.pk).exists():
            name = f"{name} ({tag.pk})"  # names are unique
        Tag.objects.filter(pk=tag.pk).update(name=name)


class Migration(migrations.Migration):
    dependencies = [("blog", "0008_content_version_notify")]

    operations = [migrations.RunPython(clean, migrations.RunPython.noop)]
