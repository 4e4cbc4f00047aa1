from django import forms
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from markdownx.widgets import AdminMarkdownxWidget

from . import markdown
from .models import Post, Tag


def split_tag_names(value: str) -> list[str]:
    """Split on ASCII or full-width commas, dropping blanks and case-insensitive repeats."""
    names = (markdown.clean_line(name) for name in value.replace("，", ",").split(","))
    unique: dict[str, str] = {}
    for name in names:
        if name:
            unique.setdefault(name.casefold(), name[:50])
    return list(unique.values())


class PostBodyWidget(AdminMarkdownxWidget):
    """markdownx's editor and live preview, with a button that uploads images."""

    # markdownx's wrapper is rebuilt in render(), with the button inside it.
    template_name = "django/forms/widgets/textarea.html"

    class Media:
        # What keeps the admin's styles out of the preview is in css/admin.css,
        # which templates/admin/base_site.html loads on every admin page.
        extend = False
        css = {"all": ["css/article.css"]}
        js = [
            "markdownx/js/markdownx.js",
            "js/markdownx-upload.js",
            "js/preview-follow.js",
        ]

    def render(self, name, value, attrs=None, renderer=None):
        textarea = super().render(name, value, attrs, renderer)
        help_id = f"{attrs.get('id', name)}_upload_help"
        # Hidden until js/markdownx-upload.js makes the button work.
        return format_html(
            '<div class="markdownx">'
            '<div class="markdownx-upload" hidden>'
            '<button type="button" class="button" aria-describedby="{}">{}</button>'
            '<input type="file" accept="image/*" multiple hidden>'
            '<span class="markdownx-upload__help" id="{}">{}</span>'
            "</div>"
            "{}"
            '<div class="markdownx-preview"></div>'
            "</div>",
            help_id,
            _("Insert image…"),
            help_id,
            _("Drag or paste images into the text, or choose them with this button."),
            textarea,
        )


class PostAdminForm(forms.ModelForm):
    tag_names = forms.CharField(
        label=_("Tags"),
        required=False,
        help_text=_("Comma-separated. New tags are created when you save."),
        widget=forms.TextInput(attrs={"size": 60, "placeholder": "Python, 机器学习"}),
    )

    class Meta:
        model = Post
        fields = [
            "title",
            "slug",
            "author",
            "body",
            "summary",
            "tag_names",
            "language",
            "status",
            "published_at",
        ]
        widgets = {"body": PostBodyWidget}
        help_texts = {
            "published_at": _(
                "A future date schedules the post; it appears by itself at that "
                "time. Publishing a draft sets it to that moment, unless you change "
                "it here."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["tag_names"] = ", ".join(
                t.name for t in self.instance.tags.all()
            )
        # The date and time inputs show whole seconds: compared with the stored
        # microseconds, every save looked like a new date (and left one in History).
        stored = self.instance.published_at
        if stored and "published_at" in self.initial:
            self.initial["published_at"] = stored.replace(microsecond=0)

    def clean_published_at(self):
        value = self.cleaned_data["published_at"]
        stored = self.instance.published_at
        if value and stored and value == stored.replace(microsecond=0):
            return stored
        return value

    def clean(self):
        cleaned = super().clean()
        # A draft written over days would otherwise publish back-dated to the day
        # its form was first opened, below the posts published since.
        published_at = cleaned.get("published_at")
        if (
            cleaned.get("status") == Post.Status.PUBLISHED
            and self.initial.get("status") != Post.Status.PUBLISHED
            and "published_at" not in self.changed_data
            and published_at
            and published_at <= timezone.now()
        ):
            cleaned["published_at"] = timezone.now()
        return cleaned

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        redirect = slug and self.instance.redirects_elsewhere(slug)
        if redirect:
            raise forms.ValidationError(
                _(
                    "“%(slug)s” is the old address of “%(title)s”, and its old links "
                    "lead there. Choose another slug, or delete that redirect under "
                    "Slug redirects first."
                ),
                params={"slug": slug, "title": redirect.post.title},
            )
        return slug

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        if len(body) > markdown.MAX_SOURCE_CHARS:
            raise forms.ValidationError(
                _(
                    "This post is %(length)s characters long; the limit is %(limit)s. "
                    "Split it into several posts."
                ),
                params={
                    "length": f"{len(body):,}",
                    "limit": f"{markdown.MAX_SOURCE_CHARS:,}",
                },
            )
        missing = markdown.images_without_alt(body)
        if missing:
            raise forms.ValidationError(
                _(
                    "Describe every image for readers who cannot see it: write alt "
                    "text between the brackets of ![](%(url)s)."
                ),
                params={"url": missing[0]},
            )
        return body

    def clean_tag_names(self) -> list[str]:
        names = split_tag_names(self.cleaned_data["tag_names"])
        for name in names:
            if not slugify(name, allow_unicode=True):
                raise forms.ValidationError(
                    _("“%(name)s” cannot be used as a tag name."), params={"name": name}
                )
        return names

    def save_tags(self, post: Post) -> None:
        tags = []
        for name in self.cleaned_data["tag_names"]:
            tag = Tag.objects.filter(name__iexact=name).first()
            tags.append(tag or Tag.objects.create(name=name))
        post.tags.set(tags)
