class UsernameConverter:
    """What Django's username validator accepts: letters, digits and @.+-_."""

    regex = r"[\w.@+-]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
