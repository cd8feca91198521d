"""The one error type of the access domain, carrying a translatable reason code."""


class AccessError(ValueError):
    """A refused request; `reason` is a translation key, never a secret."""

    def __init__(self, reason: str, **placeholders: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.placeholders = placeholders
