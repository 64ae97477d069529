"""ONNX export: matches torch on the CPU provider, dynamic batch, metadata, one file, input validation."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from talking_heads.core.errors import UserError  # noqa: E402
from talking_heads.export.onnx_model import INPUT, OUTPUT, OnnxRenderer, export_onnx  # noqa: E402

SIZE = 64            # output side
REFERENCE = 256      # the reference image's side, the landmarks' pixel space


class TinyRenderer(nn.Module):
    """What a person renderer does, in miniature: draw the landmarks (Gaussian blobs, in torch), run a conv /
    instance-norm network on the drawing, predict a flow, warp a stored reference with grid_sample."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.register_buffer("reference", torch.rand(1, 3, SIZE, SIZE, generator=g))
        self.encode = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.InstanceNorm2d(8, affine=True), nn.ReLU(),
                                    nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.InstanceNorm2d(8), nn.ReLU())
        self.decode = nn.Conv2d(8, 5, 3, padding=1)
        for p in self.parameters():
            nn.init.normal_(p, 0, 0.3, generator=g) if p.dim() > 1 else nn.init.normal_(p, 0, 0.1, generator=g)
        axis = torch.linspace(-1 + 1 / SIZE, 1 - 1 / SIZE, SIZE)
        self.register_buffer("identity", torch.stack(torch.meshgrid(axis, axis, indexing="xy"), -1)[None])

    def forward(self, landmarks):
        points = landmarks * (SIZE / REFERENCE)
        axis = torch.arange(SIZE, dtype=landmarks.dtype, device=landmarks.device)
        dx = axis.view(1, 1, 1, SIZE) - points[..., 0, None, None]
        dy = axis.view(1, 1, SIZE, 1) - points[..., 1, None, None]
        drawing = torch.exp(-(dx ** 2 + dy ** 2) / 4).amax(1, keepdim=True)       # (B, 1, S, S)
        features = F.interpolate(self.encode(drawing), scale_factor=2, mode="bilinear", align_corners=False)
        out = self.decode(features)
        flow = torch.tanh(out[:, :2]).permute(0, 2, 3, 1) * 0.1
        warped = F.grid_sample(self.reference.expand(landmarks.shape[0], -1, -1, -1), self.identity + flow,
                               mode="bilinear", padding_mode="border", align_corners=False)
        mask = torch.sigmoid(out[:, 2:3])
        return mask * warped + (1 - mask) * torch.sigmoid(out[:, 3:4])


def random_landmarks(n, seed):
    """Plausible faces: a ring of points around a centre, jittered, inside the reference image."""
    rng = np.random.default_rng(seed)
    angle = np.linspace(0, 2 * np.pi, 68, endpoint=False)
    centre = rng.uniform(96, 160, (n, 1, 2))
    radius = rng.uniform(30, 60, (n, 1, 1))
    ring = np.stack([np.cos(angle), np.sin(angle)], -1)[None] * radius
    return (centre + ring + rng.normal(0, 2, (n, 68, 2))).astype(np.float32)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    module = TinyRenderer().eval()
    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    export_onnx(module, path, metadata={"person": "tiny"}, example=random_landmarks(1, 0)[0])
    return module, path


def test_matches_torch_on_the_cpu_provider_with_a_dynamic_batch(exported):
    module, path = exported
    renderer = OnnxRenderer(path, device="cpu")
    assert renderer.providers == ["CPUExecutionProvider"] and renderer.size == (SIZE, SIZE)
    for batch in (1, 2, 5):
        points = random_landmarks(batch, seed=batch)
        got = renderer(points)
        with torch.no_grad():
            expected = module(torch.from_numpy(points)).numpy()
        assert got.shape == (batch, 3, SIZE, SIZE) and got.dtype == np.float32
        assert np.max(np.abs(got - expected)) < 1e-3
        assert got.min() >= 0 and got.max() <= 1
    assert renderer(random_landmarks(1, 9)[0]).shape == (1, 3, SIZE, SIZE)      # one (68, 2) frame


def test_the_graph_holds_everything_and_says_what_it_is(exported):
    _, path = exported
    model = onnx.load(str(path))
    assert max(op.version for op in model.opset_import if op.domain in ("", "ai.onnx")) >= 17
    ops = {node.op_type for node in model.graph.node}
    assert {"GridSample", "Conv", "InstanceNormalization", "Exp"} <= ops     # drawing and warp are inside
    assert [i.name for i in model.graph.input] == [INPUT] and [o.name for o in model.graph.output] == [OUTPUT]
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param        # symbolic batch
    props = {p.key: p.value for p in model.metadata_props}
    assert props["producer"].startswith("Neural Talking Heads") and props["person"] == "tiny"
    assert "AI-generated" in props["synthetic"] and "reference image" in props["input"]
    assert model.producer_name == "Neural Talking Heads"
    assert sorted(p.name for p in path.parent.iterdir()) == ["tiny.onnx"]      # one file, no temporaries
    onnx.checker.check_model(str(path))


def test_the_module_is_left_as_it_was(exported):
    module = TinyRenderer().train()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    export_onnx(module, exported[1].parent / "again.onnx", metadata={})
    assert module.training
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())


def test_renderer_rejects_other_models_and_bad_landmarks(tmp_path, exported):
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Relu", ["x"], ["y"])], "other",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", 10])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["n", 10])])
    other = tmp_path / "other.onnx"
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)], ir_version=8), str(other))
    with pytest.raises(UserError, match="not a person model"):
        OnnxRenderer(other)
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(UserError, match="not a valid ONNX"):
        OnnxRenderer(tmp_path / "junk.onnx")
    with pytest.raises(UserError, match="no such"):
        OnnxRenderer(tmp_path / "missing.onnx")
    renderer = OnnxRenderer(exported[1], device="cpu")
    with pytest.raises(UserError, match=r"\(N, 68, 2\)"):
        renderer(np.zeros((2, 5, 2), np.float32))
    with pytest.raises(UserError, match="NaN"):
        renderer(np.full((1, 68, 2), np.nan, np.float32))
    with pytest.raises(UserError):
        OnnxRenderer(exported[1], device="tpu")


def test_cuda_is_asked_for_and_absent(exported):
    import onnxruntime as ort

    renderer = OnnxRenderer(exported[1], device="auto")
    assert renderer.device in ("cpu", "cuda")
    if renderer.device == "cpu":                  # no usable GPU here: insisting on CUDA says so
        with pytest.raises(UserError, match="CUDA"):
            OnnxRenderer(exported[1], device="cuda")
    assert "CPUExecutionProvider" in ort.get_available_providers()


def test_export_refuses_a_wrong_signature_and_old_opsets(tmp_path):
    class Flat(nn.Module):
        def forward(self, landmarks):
            return landmarks.reshape(len(landmarks), -1)

    with pytest.raises(UserError, match="batch, 3, H, W"):
        export_onnx(Flat(), tmp_path / "flat.onnx", metadata={})
    with pytest.raises(UserError, match="opset"):
        export_onnx(TinyRenderer(), tmp_path / "old.onnx", metadata={}, opset=11)
    assert list(tmp_path.iterdir()) == []


def test_export_catches_a_graph_that_differs_from_the_module(tmp_path):
    class Branching(TinyRenderer):
        def forward(self, landmarks):          # a Python branch on a tensor value: tracing freezes it
            image = super().forward(landmarks)
            return image if float(landmarks.mean()) < 128 else 1 - image

    with pytest.raises(UserError, match="does not reproduce"):
        export_onnx(Branching().eval(), tmp_path / "b.onnx", metadata={},
                    example=np.concatenate([random_landmarks(1, 0) - 60, random_landmarks(1, 1) + 60]))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_cli_exports_a_person_model(tmp_path):
    """`python -m core export onnx PERSON` on a person file built from an untrained generator."""
    from talking_heads.app.cli import main
    from talking_heads.core.model.generator import Generator
    from talking_heads.core.model.mean_face import MEAN_FACE_CROP
    from talking_heads.core.model.person import Person

    torch.manual_seed(0)
    generator = Generator().eval()
    points = MEAN_FACE_CROP.astype(np.float32) / 2                     # a 128-pixel crop keeps this quick
    image = np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    reference = image[22:150, 22:150]
    person = Person(generator, torch.zeros(sum(generator.sizes)), reference[None].copy(), points[None],
                    (22.0, 22.0, 128.0), image, points + 22, {"dim": 256})
    person.save(tmp_path / "p.safetensors")
    assert main(["export", "onnx", str(tmp_path / "p.safetensors"), "--out", str(tmp_path / "p.onnx")]) == 0
    renderer = OnnxRenderer(tmp_path / "p.onnx", device="cpu")    # export_onnx compared it with torch
    landmarks = points[None] + 22 + np.random.default_rng(1).normal(0, 1.5, (2, 68, 2)).astype(np.float32)
    got = renderer(landmarks)
    assert got.shape == (2, 3, 128, 128) and 0 <= got.min() and got.max() <= 1
    assert renderer.metadata["person"] == "p.safetensors" and renderer.metadata["output_size"] == "128x128"


def test_person_model_onnx_matches_torch_within_1e3(tmp_path, astronaut):
    """The shipped prior's person renderer at the photo's own resolution, exported whole (drawing, warps,
    generator, compositing): onnxruntime's CPU provider agrees with torch to 1e-3 at every pixel on random
    valid landmarks, at batch sizes 1 and 4, and renders the photo's face box at its own size."""
    import torch

    from talking_heads.core.landmarks.detect import detect_landmarks
    from talking_heads.core.training.finetune import fit_person
    from talking_heads.export.onnx_model import OnnxRenderer, export_person

    points = detect_landmarks(astronaut, backend="dlib").points
    person = fit_person([astronaut], [points], steps=0, device="cpu")
    person.save(tmp_path / "person.safetensors")
    renderer = OnnxRenderer(export_person(tmp_path / "person.safetensors", tmp_path / "person.onnx"), device="cpu")
    module = person.native_renderer()
    x0, y0, side = person.native_box
    assert renderer.size == (side, side) and renderer.metadata["paste_at"] == f"{x0},{y0}"
    rng = np.random.default_rng(0)
    for batch in (1, 4):
        x = (points[None] + rng.normal(0, 2, (batch, 68, 2))).astype(np.float32)
        with torch.no_grad():
            expected = module(torch.from_numpy(x)).numpy()
        assert np.abs(renderer(x) - expected).max() < 1e-3
    # Mouths opened wide (the painter's change is added to the warp there): the image stays in [0, 1], what a
    # written frame can hold, so a game engine gets the frames' colours.
    wide = np.repeat(points[None], 8, axis=0).astype(np.float32)
    span = points[:, 1].max() - points[:, 1].min()
    for k in range(len(wide)):
        opening = rng.uniform(0.05, 0.5) * span
        wide[k, 56:60, 1] += opening                                   # the lower lip, outer edge
        wide[k, 65:68, 1] += opening                                   # and inner edge
        wide[k, 5:12, 1] += opening * rng.uniform(0.3, 1.0)            # the chin goes with it
        wide[k, 48:68, 0] += rng.normal(0, 0.05 * span)
        wide[k, [48, 60], 0] -= rng.uniform(0, 0.15) * span            # the corners stretch
        wide[k, [54, 64], 0] += rng.uniform(0, 0.15) * span
    image = renderer(wide)
    assert image.min() >= 0.0 and image.max() <= 1.0
