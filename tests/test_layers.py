"""The layers of the package (docs/ARCHITECTURE.md) point one way, the library has no command line, and the
add-on loads without torch.

core (the library) < export (file formats) < app (command line, worker, demo) < blender_addon (bpy): a layer
imports only those below it, always relatively. One file is exempt: core/__main__.py, the launcher of
`python -m core`, which runs outside the package and so must load it and hand over to `app.cli`.
"""
import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("core", "export", "app", "blender_addon")    # lowest first
FORBIDDEN = {layer: set(LAYERS[i + 1:]) for i, layer in enumerate(LAYERS)}
LAUNCHER = "core/__main__.py"   # runs as a script, before the package exists: it loads it (by path) and runs app.cli
HEAVY = ("torch", "cv2", "PIL")


def package_files() -> list[Path]:
    return sorted(p for layer in LAYERS for p in (ROOT / layer).rglob("*.py")) + [ROOT / "__init__.py"]


def imports(path: Path) -> list[tuple[int, str, int]]:
    """(line, module, relative level) of every import in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.module is None:   # from . import a, b: each name may be a module
                found += [(node.lineno, alias.name, node.level) for alias in node.names]
            else:
                found.append((node.lineno, node.module, node.level))
    return found


def layer_violations(path: Path) -> list[str]:
    relative = path.relative_to(ROOT)
    package = list(relative.parts[:-1])   # a module's package; an __init__'s is its own folder
    layer = relative.parts[0] if len(relative.parts) > 1 else None
    problems = []
    for line, module, level in imports(path):
        where = f"{relative}:{line}"
        if level == 0:
            if module.split(".")[0] in LAYERS + ("talking_heads",):
                problems.append(f"{where}: `{module}` is imported absolutely; import it relatively")
            continue
        if level > len(package) + 1:
            problems.append(f"{where}: the relative import reaches above the package")
            continue
        target = package[:len(package) - level + 1] + module.split(".")
        if layer in FORBIDDEN and target and target[0] in FORBIDDEN[layer]:
            problems.append(f"{where}: {layer} imports {'.'.join(target)}, a layer above it")
    return problems


def test_every_file_is_found():
    names = {p.relative_to(ROOT).as_posix() for p in package_files()}
    assert {"core/errors.py", "export/sequence.py", "app/cli.py", "blender_addon/operators.py", LAUNCHER} <= names


def test_layers_point_one_way_and_imports_are_relative():
    problems = [p for path in package_files() if path.relative_to(ROOT).as_posix() != LAUNCHER
                for p in layer_violations(path)]
    assert not problems, "\n".join(problems)


def command_line_code(path: Path) -> list[str]:
    """Where a module parses arguments (imports argparse) or prints (calls print)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: print()")
    found += [f"{path.relative_to(ROOT)}:{line}: imports argparse" for line, module, _ in imports(path)
              if module.split(".")[0] == "argparse"]
    return found


def test_the_library_parses_no_arguments_and_prints_nothing():
    """Commands are app/commands/ modules: core and export return what they did, the command prints it."""
    library = [p for p in package_files() if p.relative_to(ROOT).parts[0] in ("core", "export")]
    problems = [p for path in library for p in command_line_code(path)]
    assert not problems, "\n".join(problems)


def test_the_check_catches_a_forbidden_import(tmp_path, monkeypatch):
    """The checks themselves: an upward import, an absolute one and an escaping one are each reported, and so
    are argument parsing and printing."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "core").mkdir()
    bad = tmp_path / "core" / "bad.py"
    bad.write_text("from ..export import sequence\nfrom core.errors import UserError\nfrom ... import x\n")
    problems = layer_violations(bad)
    assert len(problems) == 3 and "a layer above" in problems[0] and "absolutely" in problems[1]
    bad.write_text("import argparse\nprint('hello')\n")
    assert sorted(command_line_code(bad)) == ["core/bad.py:1: imports argparse", "core/bad.py:2: print()"]


ADDON_WITHOUT_HEAVY_LIBRARIES = textwrap.dedent("""
    import importlib, importlib.abc, pkgutil, sys
    from pathlib import Path

    class Blocked(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {heavy!r}:
                raise ImportError(f"{{name}} is blocked: the add-on must not need it at import time")
            return None

    sys.meta_path.insert(0, Blocked())
    import talking_heads.blender_addon as addon
    for info in pkgutil.walk_packages(addon.__path__, addon.__name__ + "."):
        importlib.import_module(info.name)
        print(info.name)
""")


@pytest.mark.slow
def test_every_addon_module_imports_without_torch_cv2_or_pil():
    script = ADDON_WITHOUT_HEAVY_LIBRARIES.format(heavy=set(HEAVY))
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    imported = set(done.stdout.split())
    expected = {f"talking_heads.blender_addon.{p.stem}" for p in (ROOT / "blender_addon").glob("*.py")
                if p.stem != "__init__"}
    assert expected <= imported
