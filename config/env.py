"""Settings from the environment, checked: a typo must not turn a setting off
(DJANGO_SSL_REDIRECT=ture was false) or stop the start with a traceback that does
not name it. Used by config/settings.py and config/gunicorn.conf.py."""

import os

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


def env_bool(name: str, default: bool = False) -> bool:
    """An unset or empty variable is its default."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    word = value.strip().lower()
    if word not in TRUE_WORDS | FALSE_WORDS:
        raise ImproperlyConfigured(
            f"{name}={value!r}: use true or false (also 1/0, yes/no, on/off)"
        )
    return word in TRUE_WORDS


def env_number(name: str, default, *, minimum=0, kind=int):
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        number = kind(value.strip())
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ImproperlyConfigured(f"{name}={value!r}: must be {what}") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name}={value!r}: must be at least {minimum}")
    return number


def env_list(name: str, default: str = "") -> list[str]:
    return [
        item.strip()
        for item in os.environ.get(name, default).split(",")
        if item.strip()
    ]
