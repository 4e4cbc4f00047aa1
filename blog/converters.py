class UnicodeSlugConverter:
    """Like Django's `slug`, but also matches unicode slugs such as "机器学习"."""

    regex = r"[-\w]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
