from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from blog import markdown
from blog.slug_urls import slug_url


class User(AbstractUser):
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    bio = models.TextField(_("bio"), blank=True, help_text=_("Markdown."))
    bio_html = models.TextField(editable=False, default="")
    avatar = models.ImageField(_("avatar"), upload_to="avatars/", blank=True)
    website = models.URLField(_("website"), blank=True)

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "bio" in update_fields:
            self.bio_html = markdown.render(self.bio).html if self.bio else ""
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "bio_html"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return slug_url("accounts:author_detail", "username", self.username)

    @property
    def name(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def is_author(self) -> bool:
        """Staff who may write or edit posts: they use the editor's preview and
        uploads, and see drafts and scheduled posts at their URL."""
        return (
            self.is_active
            and self.is_staff
            and (self.has_perm("blog.add_post") or self.has_perm("blog.change_post"))
        )
