from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from blog.models import Post, PostLink, Tag


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"author{n}")
    display_name = factory.Sequence(lambda n: f"Author {n}")
    password = factory.django.Password("correct horse battery staple")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    name = factory.Sequence(lambda n: f"tag{n}")


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Post number {n}")
    author = factory.SubFactory(UserFactory)
    body = "Some *Markdown* text."
    status = Post.Status.PUBLISHED
    published_at = factory.Sequence(lambda n: timezone.now() - timedelta(days=1000 - n))

    @factory.post_generation
    def tags(self, create, extracted, **kwargs):
        if create and extracted:
            self.tags.set(extracted)


def links(*posts: Post) -> list[PostLink]:
    """How an article links these posts (its previous, next and related posts)."""
    return [PostLink(p.pk, p.title, p.slug, p.published_at) for p in posts]
