"""core.landmarks.draw: the landmark drawing against OpenCV's, its colours, batching, gradients, ONNX."""
import cv2
import numpy as np
import pytest
import torch

from talking_heads.core.landmarks.align import crop_box, to_crop
from talking_heads.core.landmarks.draw import PARTS, draw_landmarks
from talking_heads.core.landmarks.face3d import MEAN_FACE_3D


def face_in(size: int, seed: int = 0) -> np.ndarray:
    """A face in the canonical crop, slightly perturbed so no two faces are alike."""
    face = MEAN_FACE_3D[:, :2] * 50 + [128, 128]
    face = face + np.random.default_rng(seed).normal(0, 1.0, face.shape)
    return to_crop(face, crop_box(face), size)


def opencv_drawing(points: np.ndarray, size: int, thickness: int) -> np.ndarray:
    canvas = np.zeros((size, size, 3), np.uint8)
    for part, closed, colour in PARTS:
        cv2.polylines(canvas, [points[list(part)].astype(np.int32)], closed,
                      tuple(int(255 * c) for c in colour), thickness=thickness)
    return canvas


# OpenCV's thickness t draws lines about t + 1 pixels wide (3, 5 and 7 for 2, 4 and 6); None: our default,
# the authors' width at 256.
@pytest.mark.parametrize("size, cv2_thickness, width", [(256, 2, None), (512, 4, 5.0), (512, 6, 7.0)])
def test_matches_opencv_polylines(size, cv2_thickness, width):
    points = np.round(face_in(size))  # OpenCV draws between whole pixels
    ours = draw_landmarks(torch.from_numpy(points).float()[None], size, width)[0].permute(1, 2, 0).numpy()
    theirs = opencv_drawing(points, size, cv2_thickness)
    a, b = theirs.max(axis=2) > 0, ours.max(axis=2) > 0.5
    assert (a & b).sum() / (a | b).sum() >= 0.9
    solid = a & (ours.max(axis=2) > 0.9)
    agree = (np.abs(ours[solid] * 255 - theirs[solid]) < 64).all(axis=1).mean()
    assert agree > 0.9  # and the same colours where both drew (parts touch, and the overlaps differ)


def test_colours_of_the_parts():
    points = face_in(256)
    image = draw_landmarks(torch.from_numpy(points)[None], 256)[0]
    for index, colour in [(8, (1, 1, 1)), (19, (1, 0, 0)), (24, (0, 1, 0)), (28, (0, 0, 1)), (37, (1, 0, 1)),
                          (44, (0, 1, 1)), (51, (1, 1, 0)), (62, (1, 0.5, 0))]:
        x, y = np.round(points[index]).astype(int)
        np.testing.assert_allclose(image[:, y, x].numpy(), colour, atol=0.05)
    assert image[:, 5, 5].abs().max() == 0  # black away from the lines


def test_shape_range_batch_independence_and_gradients():
    batch = torch.stack([torch.from_numpy(face_in(64, seed)) for seed in range(3)]).requires_grad_(True)
    drawn = draw_landmarks(batch, 64)
    assert drawn.shape == (3, 3, 64, 64) and drawn.dtype == torch.float32
    assert drawn.min() >= 0 and drawn.max() <= 1
    alone = draw_landmarks(batch[1:2].detach(), 64)
    torch.testing.assert_close(drawn[1:2].detach(), alone)
    drawn.sum().backward()
    assert batch.grad.abs().sum() > 0


def test_thickness_widens_the_lines():
    points = torch.from_numpy(face_in(256))[None]
    thin = (draw_landmarks(points, 256, 1.5).amax(1) > 0.5).sum()
    thick = (draw_landmarks(points, 256, 6.0).amax(1) > 0.5).sum()
    assert thick > 2.5 * thin


def test_refuses_wrong_shapes():
    with pytest.raises(ValueError):
        draw_landmarks(torch.zeros(2, 67, 2), 64)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")  # shape checks and colour constants: fixed
def test_onnx_export_matches_torch(tmp_path):
    import onnx
    import onnxruntime

    class Drawing(torch.nn.Module):
        def forward(self, points):
            return draw_landmarks(points, 128)

    path = tmp_path / "draw.onnx"
    example = torch.from_numpy(np.stack([face_in(128, 0), face_in(128, 1)]))
    torch.onnx.export(Drawing(), (example,), str(path), opset_version=17, dynamo=False,
                      input_names=["points"], output_names=["drawing"], dynamic_axes={"points": {0: "batch"}})
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    assert {op.domain for op in model.opset_import} <= {"", "ai.onnx"}
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    others = np.stack([face_in(128, seed) for seed in (5, 6, 7)]).astype(np.float32)  # another batch size
    (drawn,) = session.run(None, {"points": others})
    np.testing.assert_allclose(drawn, draw_landmarks(torch.from_numpy(others), 128).numpy(), atol=1e-4)
