from django.db import models


class Post(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, allow_unicode=True)
    excerpt = models.TextField()
    body_html = models.TextField()
    status = models.CharField(max_length=10)
    published_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "blog_post"
        ordering = ["-published_at", "-id"]

    def __str__(self):
        return self.title
