"""The one exception type that means "the user's input is wrong".

The CLI turns a `W2VError` into a one-line `error: ...` message and exit
status 1; anything else is a bug and keeps its traceback.
"""


class W2VError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""
