"""The layers of the package (docs/ARCHITECTURE.md) point one way, no modules import each other in a circle, the
library has no command line, and the add-on loads without torch.

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


def module_name(path: Path) -> str:
    """core/landmarks/groups.py -> core.landmarks.groups; a package's __init__ is the package itself (the
    project folder's own __init__ is "")."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_edges(path: Path, modules: set[str]) -> dict[str, str]:
    """{module it imports: "file:line"} for every import of the package's own `modules` in a file, those inside
    functions too. `from .x import y` imports the module x.y where there is one (a submodule), else x; an
    import of a package is an import of its __init__, the package."""
    relative = path.relative_to(ROOT)
    package = list(relative.parts[:-1])   # a module's package; an __init__'s is its own folder
    edges = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found = [(0, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found = [(node.level, node.module or "", [alias.name for alias in node.names])]
        else:
            continue
        for level, module, names in found:
            if level == 0:   # absolute: only the package's own modules count (their import is reported above)
                parts = module.split(".")
                if parts[0] != "talking_heads":
                    continue
                target = parts[1:]
            elif level > len(package) + 1:
                continue
            else:
                target = package[:len(package) - level + 1] + [p for p in module.split(".") if p]
            for name in names or [None]:
                candidate = target + [name] if name else target
                while ".".join(candidate) not in modules and candidate:
                    candidate = candidate[:-1]
                if ".".join(candidate) in modules:
                    edges.setdefault(".".join(candidate), f"{relative}:{node.lineno}")
    return edges


def import_graph(paths: list[Path]) -> dict[str, dict[str, str]]:
    """{module: {module it imports: where}} over the package's modules."""
    modules = {module_name(p) for p in paths}
    graph = {module_name(p): import_edges(p, modules) for p in paths}
    for name, edges in graph.items():
        edges.pop(name, None)   # a package's __init__ importing its own names is no circle
    return graph


def circles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """The strongly connected components of more than one module, each sorted: modules that import each other,
    however many steps apart."""
    def reachable(start):
        seen, todo = set(), [start]
        while todo:
            for target in graph.get(todo.pop(), ()):
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        return seen

    reach = {name: reachable(name) for name in graph}
    components = {tuple(sorted({name} | {m for m in reach[name] if name in reach.get(m, ())})) for name in graph}
    return sorted(list(c) for c in components if len(c) > 1)


def describe(circle: list[str], graph: dict[str, dict[str, str]]) -> str:
    inside = [f"  {a} -> {b} ({where})" for a in circle for b, where in graph[a].items() if b in circle]
    return "a circle of " + ", ".join(circle) + ":\n" + "\n".join(inside)


def test_every_file_is_found():
    names = {p.relative_to(ROOT).as_posix() for p in package_files()}
    assert {"core/errors.py", "export/sequence.py", "app/cli.py", "blender_addon/operators/generate.py",
            LAUNCHER} <= names


def test_layers_point_one_way_and_imports_are_relative():
    problems = [p for path in package_files() if path.relative_to(ROOT).as_posix() != LAUNCHER
                for p in layer_violations(path)]
    assert not problems, "\n".join(problems)


def test_no_module_imports_itself_through_others():
    """No import circles between the package's modules, not even through an import inside a function (which
    only hides one): a module's dependencies always point one way, as the layers do."""
    graph = import_graph([p for p in package_files() if p.relative_to(ROOT).as_posix() != LAUNCHER])
    found = circles(graph)
    assert not found, "\n".join(describe(c, graph) for c in found)


CORE_ROOMS = ("geometry", "landmarks", "face", "track")   # core's rooms, lowest first: the rig's face is made of
# landmarks and geometry, and tracks move faces


def room_violations(graph: dict[str, dict[str, str]]) -> list[str]:
    def room(name):
        parts = name.split(".")
        return CORE_ROOMS.index(parts[1]) if len(parts) > 1 and parts[0] == "core" and parts[1] in CORE_ROOMS else None

    return [f"{where}: {a} imports {b}, a room above it" for a, edges in graph.items() if room(a) is not None
            for b, where in edges.items() if room(b) is not None and room(b) > room(a)]


def test_the_rooms_of_core_point_one_way():
    problems = room_violations(import_graph(package_files()))
    assert not problems, "\n".join(problems)
    upwards = {"core.face.a": {"core.track.b": "core/face/a.py:1", "core.geometry.c": "core/face/a.py:2"}}
    assert room_violations(upwards) == ["core/face/a.py:1: core.face.a imports core.track.b, a room above it"]


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


def test_the_check_catches_a_circle(tmp_path, monkeypatch):
    """The circle check itself: a circle through an import inside a function is found, and so is one through a
    package's __init__; a module that only imports one of a circle is not in it."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    files = {"core/__init__.py": "",
             "core/a.py": "def later():\n    from .b import value\n",    # a -> b, hidden in a function
             "core/b.py": "from . import a\nvalue = 1\n",                 # b -> a
             "core/c.py": "from .a import later\n",                         # c -> a: outside the circle
             "core/pkg/__init__.py": "from .d import name\n",               # the package -> d
             "core/pkg/d.py": "from ..pkg import other\nname = 1\n"}       # d -> the package's __init__
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = import_graph(sorted(tmp_path.rglob("*.py")))
    assert graph["core.c"] == {"core.a": "core/c.py:1"} and graph["core.pkg.d"] == {"core.pkg": "core/pkg/d.py:1"}
    assert circles(graph) == [["core.a", "core.b"], ["core.pkg", "core.pkg.d"]]
    assert "core.a -> core.b (core/a.py:2)" in describe(["core.a", "core.b"], graph)
    (tmp_path / "core/b.py").write_text("value = 1\n")
    (tmp_path / "core/pkg/d.py").write_text("name = 1\n")
    assert circles(import_graph(sorted(tmp_path.rglob("*.py")))) == []


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
