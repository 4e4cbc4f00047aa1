from django.urls import path, register_converter

from . import views
from .converters import UsernameConverter

register_converter(UsernameConverter, "username")

app_name = "accounts"
urlpatterns = [
    path(
        "authors/<username:username>/",
        views.AuthorDetailView.as_view(),
        name="author_detail",
    ),
]
