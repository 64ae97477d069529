"""The per-platform archives Blender's own builder makes (`extension build --split-platforms`): each carries
only its own platform's onnxruntime wheels, one for each Python Blender runs, passes Blender's `extension
validate`, and the Linux one installs, Blender unpacking the wheel of its own Python alone.

The wheels are small stand-ins under the manifest's exact file names (a wheel's name is all the builder and
the validator look at; installing unpacks its .dist-info), so no test downloads 60 MB from PyPI."""
import platform
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from talking_heads.blender_addon import build

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
PLATFORMS = MANIFEST["platforms"]
WHEELS = [w.removeprefix("./") for w in MANIFEST["wheels"]]
# Blender's platform names -> the wheel platform tags that carry them.
WHEEL_TAGS = {"linux-x64": "manylinux", "windows-x64": "win_amd64", "macos-arm64": "macosx"}
# The Pythons Blender runs: 3.11 (official 4.2 to 5.0), 3.13 (official 5.1 and later), 3.14 (Debian's 5.2).
PYTHONS = ("cp311", "cp313", "cp314")


def fake_wheel(path: Path) -> None:
    """A minimal, well-formed wheel: only its .dist-info (nothing importable, so it shadows no real package)."""
    name, version = path.name.split("-")[:2]
    info = f"{name}-{version}.dist-info"
    files = {f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: talking-heads-tests\nRoot-Is-Purelib: false\n"
                              f"Tag: {'-'.join(path.name[:-4].split('-')[-3:])}\n"}
    files[f"{info}/RECORD"] = "".join(f"{n},,\n" for n in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)


@pytest.fixture(scope="module")
def split_build(tmp_path_factory) -> dict[str, Path]:
    """`python -m blender_addon.build --out OUT --wheel-dir FAKE`: {Blender platform: its archive}."""
    wheels = tmp_path_factory.mktemp("wheels")
    for name in WHEELS:
        fake_wheel(wheels / Path(name).name)
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, "-m", "talking_heads.blender_addon.build", "--out", str(out),
                             "--wheel-dir", str(wheels)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "downloading" not in result.stdout
    prefix = f"{MANIFEST['id']}-{MANIFEST['version']}"
    return {p: out / f"{prefix}-{p.replace('-', '_')}.zip" for p in PLATFORMS}


def test_one_archive_per_platform_and_nothing_else(split_build):
    (out,) = {path.parent for path in split_build.values()}
    assert sorted(out.iterdir()) == sorted(split_build.values())


def test_the_manifest_has_onnxruntime_for_every_python_on_every_platform():
    """Blender enables the extension only under a Python one of its wheels names, and the live preview needs
    onnxruntime, which has a wheel per Python."""
    found = [(python, tag) for _, _, python, _, platform_tag in (w[:-4].split("-") for w in WHEELS if
                                                                  w.startswith("wheels/onnxruntime-"))
             for tag in WHEEL_TAGS.values() if platform_tag.startswith(tag)]
    assert sorted(found) == sorted((python, WHEEL_TAGS[p]) for python in PYTHONS for p in PLATFORMS)
    assert f"cp{sys.version_info[0]}{sys.version_info[1]}" in PYTHONS   # this test's Blender runs one of them


def test_each_wheel_is_downloaded_for_the_python_its_name_says():
    assert build.wheel_download_arguments("onnxruntime-1.31.1-cp314-cp314-manylinux_2_28_x86_64.whl") == [
        "onnxruntime==1.31.1", "--no-deps", "--only-binary=:all:", "--python-version", "3.14",
        "--platform", "manylinux_2_28_x86_64", "--abi", "cp314", "--implementation", "cp"]
    assert "--python-version" not in build.wheel_download_arguments("flatbuffers-25.12.19-py2.py3-none-any.whl")
    with pytest.raises(SystemExit, match="not a wheel file name"):
        build.wheel_download_arguments("onnxruntime-1.31.1-cp313.whl")


@pytest.mark.parametrize("blender_platform", PLATFORMS)
def test_each_archive_carries_only_its_own_onnxruntime(split_build, blender_platform):
    with zipfile.ZipFile(split_build[blender_platform]) as archive:
        names = set(archive.namelist())
        manifest = tomllib.loads(archive.read("blender_manifest.toml").decode())
    wheels = {n for n in names if n.startswith("wheels/")}
    onnxruntime = [w for w in wheels if "onnxruntime" in w]
    assert all(WHEEL_TAGS[blender_platform] in w for w in onnxruntime)
    assert sorted(w.split("-")[2] for w in onnxruntime) == list(PYTHONS)   # one for each Python
    assert {w for w in WHEELS if "onnxruntime" not in w} <= wheels  # the pure-Python wheels go everywhere
    assert manifest["build"]["generated"]["platforms"] == [blender_platform]
    assert {w.removeprefix("./") for w in manifest["build"]["generated"]["wheels"]} == wheels
    assert {"__init__.py", "worker_requirements.txt", "blender_addon/__init__.py", "core/face/rest_pose.py"} <= names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


@pytest.mark.parametrize("blender_platform", PLATFORMS)
def test_each_archive_passes_blenders_validation(split_build, blender_platform):
    result = build.validate(split_build[blender_platform])
    assert result.returncode == 0, result.stdout + result.stderr


# What Blender unpacked from the extension's wheels: [dist-info folder, the Python folder it is in, its tag].
UNPACKED = """
report["unpacked"] = []
for folder, dirs, files in os.walk(os.environ["BLENDER_USER_RESOURCES"]):
    if folder.endswith(".dist-info") and "WHEEL" in files:
        tag = [line for line in open(os.path.join(folder, "WHEEL")) if line.startswith("Tag: ")][0][5:].strip()
        python = os.path.basename(os.path.dirname(os.path.dirname(folder)))   # .../pythonX.Y/site-packages/
        report["unpacked"].append([os.path.basename(folder), python, tag])
"""


@pytest.mark.skipif(not (sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")),
                    reason="the linux-x64 archive installs only on Linux x64")
def test_linux_archive_unpacks_the_wheel_of_its_python(split_build, tmp_path, fresh_blender):
    report = fresh_blender(split_build["linux-x64"], tmp_path / "blender", UNPACKED)
    assert report["result"] == ["FINISHED"] and report["enabled"]
    python = "cp" + report["python"].replace(".", "")
    name, version = WHEELS[0].removeprefix("wheels/").split("-")[:2]
    # of the three onnxruntime wheels, Blender unpacked the one of its own Python, into its own Python's folder
    assert [u for u in report["unpacked"] if u[0].startswith(f"{name}-")] == [
        [f"{name}-{version}.dist-info", f"python{report['python']}", f"{python}-{python}-manylinux_2_28_x86_64"]]
    pure = {"-".join(w.removeprefix("wheels/").split("-")[:2]) + ".dist-info" for w in WHEELS if "onnxruntime" not in w}
    assert pure <= {u[0] for u in report["unpacked"]}


def test_a_build_replaces_older_archives_of_its_version(tmp_path):
    """Split archives and the single one never mix in one folder (the tests glob talking_heads-*.zip)."""
    stale = tmp_path / f"{MANIFEST['id']}-{MANIFEST['version']}-linux_x64.zip"
    stale.write_bytes(b"old")
    (tmp_path / "unrelated.zip").write_bytes(b"keep")
    (path,) = build.build(tmp_path, wheels=False)
    assert path.name == f"{MANIFEST['id']}-{MANIFEST['version']}.zip"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, "unrelated.zip"])


def test_builder_errors_are_reported(tmp_path, monkeypatch):
    """What Blender's builder rejects stops the build with its own message (here: a tag it does not know)."""

    real_stage = build.stage

    def bad_stage(folder, wheels, wheel_dir):
        real_stage(folder, wheels, wheel_dir)
        manifest = folder / "blender_manifest.toml"
        manifest.write_text(manifest.read_text().replace('tags = ["Animation"', 'tags = ["NotATag"'))

    monkeypatch.setattr(build, "stage", bad_stage)
    with pytest.raises(SystemExit, match="NotATag"):
        build.build(tmp_path, wheels=False)
    assert not list(tmp_path.glob("*.zip"))
