"""`python -m core worker`: the Blender add-on's worker process. Its options and its loop live with the
worker itself (`app.worker`), whose standard output is the add-on's protocol, not a command's output."""
from ..worker import add_arguments, run

__all__ = ["add_arguments", "run"]
