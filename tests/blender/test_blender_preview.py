"""The live preview: scrubbing renders the rig's pose with an ONNX person model in Blender's Python and
pastes it into the reference, on the image plane.

The model here is a stand-in with the export's interface (input `landmarks` (N, 68, 2), output `image`
(N, 3, S, S), the face box at the photo's resolution, metadata `paste_at` "x,y", the box's corner in the
photo): it paints its box with the chin's height in the picture, so what the preview shows says which pose
it was given."""
import time

import bpy
import numpy as np
import pytest


@pytest.fixture
def chin_model(tmp_path, quick_rig):
    """An ONNX model whose face box is uniformly chin_y / 512, pasted over the face. Returns (path, (x, y,
    side)): the box's corner and side in whole pixels."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    from talking_heads.core.landmarks.align import crop_box

    rig, points = quick_rig
    x, y, side = crop_box(points)
    x, y, side = int(round(x)), int(round(y)), int(round(side)) // 2   # a box inside the crop
    x, y = x + side // 2, y + side // 2
    graph = helper.make_graph(
        [helper.make_node("Gather", ["landmarks", "chin"], ["chin_xy"], axis=1),           # (N, 2)
         helper.make_node("Gather", ["chin_xy", "y"], ["chin_y"], axis=1),                 # (N,)
         helper.make_node("Div", ["chin_y", "width"], ["value"]),
         helper.make_node("Reshape", ["value", "column"], ["value4"]),                     # (N, 1, 1, 1)
         helper.make_node("Mul", ["value4", "ones"], ["image"])],                         # (N, 3, S, S)
        "chin",
        [helper.make_tensor_value_info("landmarks", TensorProto.FLOAT, ["batch", 68, 2])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, side, side])],
        [helper.make_tensor("chin", TensorProto.INT64, [], [8]),
         helper.make_tensor("y", TensorProto.INT64, [], [1]),
         helper.make_tensor("width", TensorProto.FLOAT, [], [512.0]),
         helper.make_tensor("column", TensorProto.INT64, [4], [-1, 1, 1, 1]),
         numpy_helper.from_array(np.ones((1, 3, side, side), np.float32), name="ones")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    helper.set_model_props(model, {"paste_at": f"{x},{y}"})
    path = tmp_path / "chin.onnx"
    onnx.save(model, str(path))
    return path, (x, y, side)


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
