"""`python -m core COMMAND`, run from the project folder: the launcher of the command line.

The project folder is one package whose modules import each other relatively, but `python -m core` imports
`core` on its own, outside it. So this file (the one module of core that reaches the app layer, which the
layer test names as its single exemption) loads the project folder as the package `talking_heads`, by path,
and runs `app.cli`. That keeps `python -m core` working in a bare copy of the tree (no pip install: the
training machine), in the extension folder (the add-on's worker) and in a checkout.
"""
import importlib
import importlib.util
import sys
from pathlib import Path

PACKAGE = "talking_heads"


def project_package():
    """The project folder above this file as the package `talking_heads` (loaded once per process)."""
    root = Path(__file__).resolve().parents[1]
    loaded = sys.modules.get(PACKAGE)
    if loaded is not None and Path(loaded.__path__[0]).resolve() == root:
        return loaded
    spec = importlib.util.spec_from_file_location(PACKAGE, root / "__init__.py", submodule_search_locations=[str(root)])
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    spec.loader.exec_module(package)
    return package


if __name__ == "__main__":
    project_package()
    raise SystemExit(importlib.import_module(f"{PACKAGE}.app.cli").main())
