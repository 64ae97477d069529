"""Model files from strangers: anything but a person file of this version is refused with one line, before
any of it is used; a pickle is never unpickled (its code would run); nothing is written."""
import os
import pickle

import onnx
import pytest
import torch

from talking_heads.core.errors import UserError
from talking_heads.core.model.files import save_tensors
from talking_heads.core.model.person import PERSON, PERSON_VERSION, load_person

from .conftest import assert_one_line_error, cli_all, tree


class Payload:
    """Unpickling this creates the folder `path`: proof that the file's code ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return os.mkdir, (self.path,)


def _other_version(path, person_file):
    from safetensors.torch import load_file

    save_tensors(path, load_file(str(person_file)), {"format": PERSON, "version": PERSON_VERSION + 1})


BAD_PERSONS = {
    "truncated": (lambda p, good, marker: p.write_bytes(good.read_bytes()[: good.stat().st_size // 2]),
                  "not a readable safetensors file"),
    "another version": (lambda p, good, marker: _other_version(p, good),
                        f"version {PERSON_VERSION + 1}, this release reads version {PERSON_VERSION}"),
    "pickle": (lambda p, good, marker: p.write_bytes(pickle.dumps(Payload(marker), protocol=4)),
               "pickle file, which can run code: refused"),
    "torch.save zip": (lambda p, good, marker: torch.save({"w": torch.zeros(2), "x": Payload(marker)}, p),
                       "pickle file, which can run code: refused"),
    "not safetensors": (lambda p, good, marker: p.write_bytes(b"\x00" * 64 + b"the artist's notes"),
                        "not a readable safetensors file"),
}


ONNX_CASES = ("truncated", "another version", "pickle", "not safetensors")


@pytest.fixture(scope="module")
def bad_persons(tmp_path_factory, person_file):
    folder = tmp_path_factory.mktemp("persons")
    made = {}
    for case, (make, words) in BAD_PERSONS.items():
        path = folder / f"{case.replace(' ', '_')}.safetensors"
        marker = folder / f"ran_{case.replace(' ', '_')}"
        make(path, person_file, marker)
        made[case] = (path, marker, words)
    return made


def test_bad_person_files_via_generate_and_export_onnx(tmp_path, bad_persons, track_file):
    before = tree(tmp_path)
    calls, expected = [], []
    for case, (path, marker, words) in bad_persons.items():
        out = tmp_path / case.replace(" ", "_")
        calls.append(("generate", path, track_file, "--out", out / "frames", "--device", "cpu"))
        if case in ONNX_CASES:                            # the same loader: the four the issue names suffice
            calls.append(("export", "onnx", path, "--out", out / "model.onnx"))
        expected += [(case, words, marker)] * (2 if case in ONNX_CASES else 1)
    for done, (case, words, marker) in zip(cli_all(calls), expected):
        assert_one_line_error(done, words)
        assert not marker.exists(), f"{case}: the file's code ran"
    assert tree(tmp_path) == before                       # no frames, no job file, no ONNX, no temporary


def test_a_protocol_0_pickle_is_refused_unread(tmp_path):
    """Text pickles carry no magic number: refused as not safetensors, still never unpickled."""
    path, marker = tmp_path / "old.safetensors", tmp_path / "ran"
    path.write_bytes(pickle.dumps(Payload(marker), protocol=0))
    with pytest.raises(UserError, match="not a readable safetensors"):
        load_person(path)
    assert not marker.exists()


def test_safetensors_of_another_kind_or_with_missing_tensors(tmp_path, person_file):
    from safetensors.torch import load_file, save_file

    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(3)}, str(plain))
    with pytest.raises(UserError, match=f"not a {PERSON} file"):
        load_person(plain)
    damaged = tmp_path / "damaged.safetensors"
    tensors = {k: v for k, v in load_file(str(person_file)).items() if k != "psi"}
    save_tensors(damaged, tensors, {"format": PERSON, "version": PERSON_VERSION, "box": [0, 0, 1], "config": {}})
    with pytest.raises(UserError, match="damaged person file"):
        load_person(damaged)


def test_an_onnx_model_whose_inputs_do_not_match(tmp_path, person_file, track_file):
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Relu", ["x"], ["y"])], "other",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", 68, 3])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["n", 68, 3])])
    other = tmp_path / "other.onnx"
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)], ir_version=8),
              str(other))
    before = tree(tmp_path)
    done, = cli_all([("generate", person_file, track_file, "--out", tmp_path / "frames", "--backend", "onnx",
                      "--onnx", other, "--device", "cpu")])
    assert_one_line_error(done, "is not a person model exported by this project")
    assert tree(tmp_path) == before      # no output folder, no job file
