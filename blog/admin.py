import difflib

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import Http404
from django.urls import reverse_lazy
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .forms import PostAdminForm
from .models import Post, SlugRedirect, Tag


@admin.register(Post)
class PostAdmin(SimpleHistoryAdmin):
    form = PostAdminForm
    list_display = ("title", "status_label", "published_at", "author", "tag_list")
    list_filter = ("status", "published_at", "tags", "author")
    search_fields = ("title", "body", "slug")
    prepopulated_fields = {"slug": ("title",)}
    date_hierarchy = "published_at"
    list_select_related = ("author",)
    history_list_display = ["changes"]
    object_history_list_template = "admin/blog/post/object_history_list.html"

    class Media:
        js = [reverse_lazy("inkstone_jsi18n"), "js/editor-backup.js"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "author":  # a reader's account is no author
            kwargs["queryset"] = (
                get_user_model()
                .objects.filter(
                    Q(is_staff=True, is_active=True) | Q(posts__isnull=False)
                )
                .distinct()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if not version_id.isdigit():  # simple_history answered 500
            raise Http404("No such version.")
        return super().history_form_view(request, object_id, version_id, extra_context)

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
            return format_html(
                '<span class="status-scheduled">{} {}</span>',
                _("Scheduled for"),
                post.published_at.strftime("%Y-%m-%d %H:%M"),
            )
        return post.get_status_display()

    @admin.display(description=_("Tags"))
    def tag_list(self, post: Post) -> str:
        return ", ".join(tag.name for tag in post.tags.all())

    @admin.display(description=_("Changes"))
    def changes(self, record) -> str:
        previous = record.prev_record
        if previous is None:
            return _("Created")
        delta = record.diff_against(previous)
        lines = []
        for change in delta.changes:
            if change.field == "body":
                diff = difflib.unified_diff(
                    (change.old or "").splitlines(),
                    (change.new or "").splitlines(),
                    lineterm="",
                    n=1,
                )
                lines.append("\n".join(list(diff)[2:]))
            else:
                lines.append(f"{change.field}: {change.old} → {change.new}")
        return format_html('<pre class="history-diff">{}</pre>', "\n".join(lines))


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(SlugRedirect)
class SlugRedirectAdmin(admin.ModelAdmin):
    list_display = ("old_slug", "post", "created_at")
    search_fields = ("old_slug", "post__title", "post__slug")
    autocomplete_fields = ("post",)


admin.site.site_header = _("Inkstone")
admin.site.site_title = _("Inkstone admin")
