"""The live preview: scrubbing renders the rig's pose with an ONNX person model in Blender's Python and
pastes it into the reference, on the image plane.

The model here is a stand-in with the export's interface (input `landmarks` (N, 68, 2), output `image`
(N, 3, S, S), metadata `crop_box`): it paints its crop with the chin's height in the picture, so what the
preview shows says which pose it was given."""
import time

import bpy
import numpy as np
import pytest

SIZE = 32


@pytest.fixture
def chin_model(tmp_path, quick_rig):
    """An ONNX model whose crop is uniformly chin_y / 512, placed over the face."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from core.landmarks.align import crop_box

    rig, points = quick_rig
    graph = helper.make_graph(
        [helper.make_node("Gather", ["landmarks", "chin"], ["chin_xy"], axis=1),           # (N, 2)
         helper.make_node("Gather", ["chin_xy", "y"], ["chin_y"], axis=1),                 # (N,)
         helper.make_node("Div", ["chin_y", "width"], ["value"]),
         helper.make_node("Reshape", ["value", "column"], ["value4"]),                     # (N, 1, 1, 1)
         helper.make_node("Mul", ["value4", "ones"], ["image"])],                         # (N, 3, S, S)
        "chin",
        [helper.make_tensor_value_info("landmarks", TensorProto.FLOAT, ["batch", 68, 2])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, SIZE, SIZE])],
        [helper.make_tensor("chin", TensorProto.INT64, [], [8]),
         helper.make_tensor("y", TensorProto.INT64, [], [1]),
         helper.make_tensor("width", TensorProto.FLOAT, [], [512.0]),
         helper.make_tensor("column", TensorProto.INT64, [4], [-1, 1, 1, 1]),
         helper.make_tensor("ones", TensorProto.FLOAT, [1, 3, SIZE, SIZE], np.ones(3 * SIZE * SIZE).tolist())])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    box = crop_box(points)
    helper.set_model_props(model, {"crop_box": ",".join(f"{v:g}" for v in box)})
    path = tmp_path / "chin.onnx"
    onnx.save(model, str(path))
    return path, box


def test_scrubbing_shows_the_rigs_pose(quick_rig, chin_model, module):
    pytest.importorskip("onnxruntime")
    rig, points = quick_rig
    path, (x, y, side) = chin_model
    scene = bpy.context.scene
    jaw = rig.data.shape_keys.key_blocks["jawOpen"]
    jaw.value = 0.0
    jaw.keyframe_insert("value", frame=1)
    jaw.value = 1.0
    jaw.keyframe_insert("value", frame=5)
    scene.talking_heads.preview_model = str(path)
    scene.talking_heads.preview = True

    def shown(frame: int) -> np.ndarray:
        time.sleep(module("blender_addon.preview").MIN_INTERVAL)  # renders are throttled
        scene.frame_set(frame)
        image = bpy.data.images[f"{rig.name} preview"]
        pixels = np.empty(len(image.pixels), dtype=np.float32)
        image.pixels.foreach_get(pixels)
        return pixels.reshape(image.size[1], image.size[0], 4)[::-1, :, :3]  # top row first

    rest, open_jaw = shown(1), shown(5)
    centre = (int(y + side / 2), int(x + side / 2))
    chin = module("blender_addon.driver").rig_pixels(bpy.context, rig, range(5, 6))[0][8, 1]
    assert rest[centre] == pytest.approx([points[8, 1] / 512] * 3, abs=2 / 255)
    assert open_jaw[centre] == pytest.approx([chin / 512] * 3, abs=2 / 255)
    assert chin > points[8, 1] + 5
    corner = (5, 5)  # far from the face: the reference photo itself
    assert np.abs(rest[corner] - module("blender_addon.preview")._reference_pixels(rig)[corner]).max() < 1e-6
    nodes = rig.talking_heads.image_plane.active_material.node_tree.nodes
    assert nodes["Talking Heads frames"].image == bpy.data.images[f"{rig.name} preview"]

    scene.talking_heads.preview = False
    assert nodes["Talking Heads frames"].image is None  # nothing generated yet: the reference again
    assert nodes["Talking Heads mix"].inputs[0].default_value == 0.0


def test_pasting_matches_the_projects_paste_back(module):
    """The preview's numpy paste (no OpenCV in Blender) agrees with core.landmarks.align.paste_back."""
    from core.landmarks.align import paste_back

    rng = np.random.default_rng(0)
    reference = rng.integers(0, 256, (120, 160, 3)).astype(np.uint8)
    # a smooth crop, as generated faces are (OpenCV interpolates in fixed point, in steps of 1/32)
    coarse = rng.uniform(0, 255, (5, 5, 3))
    ramp = np.linspace(0, 4, 64)
    i, f = np.minimum(ramp.astype(int), 3), (ramp - np.minimum(ramp.astype(int), 3))[:, None]
    rows = coarse[i] * (1 - f[..., None]) + coarse[i + 1] * f[..., None]
    crop = (rows[:, i] * (1 - f[None]) + rows[:, i + 1] * f[None]).astype(np.uint8)
    box = (30.5, 12.25, 90.0)
    expected = paste_back(reference, crop, box).astype(np.float32) / 255
    got = module("blender_addon.preview").paste_crop(reference / 255.0, crop / 255.0, box)
    assert np.abs(got - expected).max() < 2 / 255
