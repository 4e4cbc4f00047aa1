import logging

import pytest
from django.core.cache import cache
from django.utils import translation

from blog import page_cache
from tests.factories import PostFactory


@pytest.fixture(autouse=True)
def test_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.AXES_ENABLED = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }
    # Tests change rows with .update() too, which sends no signal, and inside a
    # transaction that never commits, so nothing is notified: read the content
    # version on every request (test_blog_page_cache covers the memo itself, and
    # test_blog_change_listener the notifications).
    settings.PAGE_CACHE_LISTEN = False
    settings.PAGE_CACHE_TOKEN_TTL = 0
    cache.clear()
    page_cache.memo.clear()
    # PostFactory dates its nth post 1000 - n days ago: numbered across the session,
    # the suite's thousandth post would be a scheduled one, hidden from readers.
    PostFactory.reset_sequence()
    yield
    translation.deactivate()


@pytest.fixture
def user(db):
    from tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def staff_user(db):
    from tests.factories import UserFactory

    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def request_log_on():
    """The request log at INFO, whatever LOG_LEVEL the tests run with."""
    logger = logging.getLogger("inkstone.request")
    level = logger.level
    logger.setLevel(logging.INFO)
    yield logger
    logger.setLevel(level)
