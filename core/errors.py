"""The two exceptions every layer shares.

`UserError` is bad input or a state the user can fix: its message is one line that says what to do, and
the command line, the worker and the add-on show it as it is, never with a traceback. `Cancelled` is the
user stopping long work; whatever finished before it stays valid.
"""


class UserError(Exception):
    """A problem the user can fix; the message is a single line saying what to do."""


class Cancelled(Exception):
    """The user cancelled long-running work."""


def one_line(error: BaseException | str, *, last: bool = False) -> str:
    """A message in one line: its first line, or with `last` its last (where a library puts the cause, as
    ONNX's checker does); an exception without a message gives its type's name."""
    lines = str(error).strip().splitlines()
    if lines:
        return lines[-1] if last else lines[0]
    return type(error).__name__ if isinstance(error, BaseException) else ""
