from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from markdownx.admin import MarkdownxModelAdmin

from .forms import PostAdminForm
from .models import Post, Tag


@admin.register(Post)
class PostAdmin(MarkdownxModelAdmin):
    form = PostAdminForm
    list_display = ("title", "status_label", "published_at", "author", "tag_list")
    list_filter = ("status", "published_at", "tags", "author")
    search_fields = ("title", "body", "slug")
    prepopulated_fields = {"slug": ("title",)}
    date_hierarchy = "published_at"
    list_select_related = ("author",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags")

    def get_changeform_initial_data(self, request):
        return {
            "author": request.user.pk,
            **super().get_changeform_initial_data(request),
        }

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        form.save_tags(form.instance)

    @admin.display(description=_("Status"), ordering="status")
    def status_label(self, post: Post) -> str:
        if post.is_scheduled:
            return _("Scheduled")
        return post.get_status_display()

    @admin.display(description=_("Tags"))
    def tag_list(self, post: Post) -> str:
        return ", ".join(tag.name for tag in post.tags.all())


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
