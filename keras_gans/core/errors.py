"""The one exception type the CLI turns into a single clear line and exit status 2."""


class UserError(Exception):
    """Bad input or usage: the message says what was wrong and what to do; no traceback is shown."""
