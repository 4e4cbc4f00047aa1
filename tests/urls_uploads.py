"""Mounts blog.uploads.ImageUploadView as config/urls.py will, plus unwrapped."""

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.urls import path

from blog.uploads import ImageUploadView

urlpatterns = [
    path(
        "admin/markdownx/upload/",
        staff_member_required(ImageUploadView.as_view()),
        name="markdownx_upload",
    ),
    # Without the decorator, to test the view's own staff check.
    path("unwrapped-upload/", ImageUploadView.as_view(), name="unwrapped_upload"),
    path("admin/", admin.site.urls),
]
