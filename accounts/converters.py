class UsernameConverter:
    """Django's `str` without the NUL byte, which PostgreSQL text cannot hold (the
    lookup failed with a 500)."""

    regex = "[^/\x00]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
