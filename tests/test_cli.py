"""The command line's conventions (app/cli.py): every command registered and documented, --version, --quiet,
`--json -` (JSON alone on standard output), progress bars only on a terminal, exit codes 0 / 1 / 2."""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from talking_heads.app import cli, output
from talking_heads.app.cli import main
from talking_heads.core import __version__

ROOT = Path(__file__).resolve().parents[1]
OWNED_ELSEWHERE = {"export", "verify", "worker"}    # export's and verify's keep their own conventions; the
                                                   # worker speaks a protocol on stdout


def parser_of(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=command)
    cli.command_module(command).add_arguments(parser)
    if cli.takes_common_arguments(command):
        cli.add_common_arguments(parser)
    return parser


def undocumented(parser: argparse.ArgumentParser, prefix: str = "") -> list[str]:
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                missing += undocumented(sub, f"{prefix}{name} ")
        elif not isinstance(action, argparse._HelpAction) and not (action.help or "").strip():
            missing.append(prefix + (action.option_strings[0] if action.option_strings else action.dest))
    return missing


@pytest.mark.parametrize("command", sorted(set(cli.COMMANDS) - OWNED_ELSEWHERE))
def test_every_option_has_help_and_quiet(command):
    parser = parser_of(command)
    assert undocumented(parser) == []
    assert any("--quiet" in a.option_strings for a in parser._actions)


def test_the_new_commands_are_registered():
    assert {"animate", "retarget", "lipsync", "prepare-data"} <= set(cli.COMMANDS)
    for command in cli.COMMANDS:
        module = cli.command_module(command)
        assert module.__name__.endswith(f"app.commands.{cli.COMMANDS[command][0]}")       # the application's
        assert callable(module.add_arguments) and callable(module.run)


def test_version_and_help_in_a_fresh_process():
    done = subprocess.run([sys.executable, "-m", "core", "--version"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"Neural Talking Heads {__version__}"
    done = subprocess.run([sys.executable, "-m", "core", "animate", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "--driver" in done.stdout and "exit status" in done.stdout


def test_exit_codes(tmp_path, capsys, monkeypatch):
    assert main([]) == 2                                                    # no command: the help, bad input
    with pytest.raises(SystemExit) as stopped:
        main(["detect"])                                                     # a missing argument (argparse)
    assert stopped.value.code == 2
    for command in ("finetune", "animate", "demo", "evaluate"):                # an unknown preset (argparse)
        with pytest.raises(SystemExit) as stopped:
            main([command, "--preset", "slow"])
        assert stopped.value.code == 2 and "invalid choice: 'slow'" in capsys.readouterr().err
    assert main(["detect", str(tmp_path / "none.png"), "--backend", "dlib"]) == 2     # bad input: one line
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error:")

    from talking_heads.core.landmarks import detect

    def broken_disk(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(detect, "detect_landmarks", broken_disk)
    photo = tmp_path / "face.png"
    cv2.imwrite(str(photo), np.full((96, 96, 3), 128, np.uint8))
    assert main(["detect", str(photo)]) == 1                                 # the machine failed, not the input
    assert capsys.readouterr().err.strip() == "error: Input/output error"


@pytest.fixture(scope="module")
def photo(tmp_path_factory, astronaut) -> Path:
    path = tmp_path_factory.mktemp("cli") / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    return path


def test_json_to_stdout_holds_the_json_alone(photo, tmp_path, capsys):
    assert main(["detect", str(photo), "--backend", "dlib", "--json", "-"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["backend"] == "dlib" and len(data["points"]) == 68
    ref = tmp_path / "ref.json"
    ref.write_text(captured.out)
    from talking_heads.core.track.track_file import Track

    points = np.asarray(data["points"], np.float32)
    moving = np.stack([points + [k, 0] for k in range(4)])
    track = tmp_path / "drive.json"
    Track(moving, np.arange(4), np.zeros(4, bool), 25.0, (512, 512), source="drive.mp4").save(track)
    assert main(["retarget", str(track), "--onto", str(ref), "--json", "-", "--neutral", "0"]) == 0
    captured = capsys.readouterr()
    moved = Track.from_dict(json.loads(captured.out))
    np.testing.assert_allclose(moved.points[0], points, atol=1e-2)          # the neutral frame: the photo itself
    assert "wrote" in captured.err


def test_quiet_keeps_the_result_and_drops_the_rest(photo, capsys):
    assert main(["detect", str(photo), "--backend", "dlib", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "backend: dlib" and len(lines) == 3 + 68             # the table is the result
    assert main(["finetune", str(photo), "--out", "/nonexistent/p.safetensors", "--quiet"]) == 2
    assert capsys.readouterr().err.startswith("error:")                    # errors still show


def test_bars_only_on_a_terminal_and_never_when_quiet(monkeypatch):
    bar = output.TqdmProgress("x")
    bar(1, 3, "stage: one")
    assert bar.bar.disable                        # pytest's captured stderr is no terminal
    bar.close()

    class Terminal:
        def isatty(self):
            return True

        def write(self, text):
            pass

        def flush(self):
            pass

    monkeypatch.setattr(sys, "stderr", Terminal())
    bar = output.TqdmProgress("x")
    bar(1, 3, "stage: one")
    assert not bar.bar.disable
    bar.close()
    output.configure(quiet=True)
    try:
        assert output.bar("x") is None
        quiet_bar = output.TqdmProgress("x")
        quiet_bar(1, 3, "stage")
        assert quiet_bar.bar.disable
        quiet_bar.close()
    finally:
        output.configure()
