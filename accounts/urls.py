from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path(
        "authors/<str:username>/",
        views.AuthorDetailView.as_view(),
        name="author_detail",
    ),
]
