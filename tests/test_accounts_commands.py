import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_ensure_admin_prints_password_once_and_it_works(client):
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    password = out.getvalue().split("password: ")[1].split()[0]
    assert client.login(username="admin", password=password)
    again = io.StringIO()
    call_command("ensure_admin", stdout=again)
    assert "already exists" in again.getvalue()
    assert password not in again.getvalue()
    assert get_user_model().objects.filter(is_superuser=True).count() == 1
