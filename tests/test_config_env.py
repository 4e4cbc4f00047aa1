"""Settings from the environment: a typo stops the start with the variable's name."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_number

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("TRUE", True), (" yes ", True), ("on", True), ("0", False),
     ("False", False), ("no", False), ("off", False), ("", True), (None, True)],
)  # fmt: skip
def test_booleans_read_the_usual_words_and_empty_is_the_default(
    monkeypatch, value, expected
):
    if value is None:
        monkeypatch.delenv("INKSTONE_FLAG", raising=False)
    else:
        monkeypatch.setenv("INKSTONE_FLAG", value)
    assert env_bool("INKSTONE_FLAG", True) is expected


def test_a_misspelt_boolean_is_refused_not_read_as_false(monkeypatch):
    # DJANGO_SSL_REDIRECT=ture used to turn the redirect off without a word.
    monkeypatch.setenv("DJANGO_SSL_REDIRECT", "ture")
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SSL_REDIRECT='ture'"):
        env_bool("DJANGO_SSL_REDIRECT")


@pytest.mark.parametrize(
    ("value", "message"),
    [("abc", "must be a whole number"), ("1.5", "must be a whole number"),
     ("-5", "must be at least 0")],
)  # fmt: skip
def test_a_bad_number_names_its_variable(monkeypatch, value, message):
    monkeypatch.setenv("PAGE_CACHE_MAX_AGE", value)
    with pytest.raises(ImproperlyConfigured, match=f"PAGE_CACHE_MAX_AGE=.*{message}"):
        env_number("PAGE_CACHE_MAX_AGE", 0)


def test_numbers_keep_their_kind_and_default(monkeypatch):
    monkeypatch.setenv("PAGE_CACHE_TOKEN_TTL", " 0.5 ")
    assert env_number("PAGE_CACHE_TOKEN_TTL", 1.0, kind=float) == 0.5
    monkeypatch.setenv("POSTS_PER_PAGE", "")
    assert env_number("POSTS_PER_PAGE", 10, minimum=1) == 10


def load_settings(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run `code` in a new interpreter that imports the settings under `env`."""
    return subprocess.run(
        [sys.executable, "-c", f"import config.settings as s; {code}"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SECRET_KEY": "x" * 50, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CACHE_URL", "memcached://127.0.0.1:11211", "must start with redis://"),
        ("LOG_LEVEL", "verbose", "use DEBUG, INFO"),
        ("DATABASE_URL", "postgres://u@127.0.0.1:99999/x", "DATABASE_URL"),
        ("DATABASE_URL", "postgres://u@127.0.0.1:5432", "names no database"),
        ("POSTS_PER_PAGE", "0", "must be at least 1"),
        ("SITE_URL", "blog.example.com", "the address readers use"),
    ],
)
def test_settings_refuse_to_start_on_a_bad_value(name, value, message):
    result = load_settings("pass", **{name: value})
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured")
    assert message in last


def test_lower_case_log_level_is_accepted():
    result = load_settings("print(s.LOG_LEVEL)", LOG_LEVEL="warning")
    assert result.stdout.strip() == "WARNING", result.stderr
