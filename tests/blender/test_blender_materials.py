"""Where generated frames play: the image plane's material, or a selected object's."""
import bpy
import numpy as np
from PIL import Image


def write_frames(folder, numbers):
    for n in numbers:
        Image.fromarray(np.full((16, 16, 3), 20 * n, np.uint8)).save(folder / f"frame_{n:04d}.png")


def test_frames_play_on_a_selected_objects_material(scene, module, tmp_path):
    materials = module("blender_addon.materials")
    write_frames(tmp_path, range(5, 8))
    image = materials.load_sequence(str(tmp_path / "frame_0005.png"), "clip")
    cube = bpy.data.objects["Cube"]
    materials.put_on_object(cube, image, first=5, count=3)
    tree = cube.active_material.node_tree
    node = tree.nodes[materials.FRAMES_NODE]
    assert node.image == image and image.source == 'SEQUENCE'
    user = node.image_user
    assert (user.frame_start, user.frame_duration, user.frame_offset, user.use_auto_refresh) == (5, 3, 4, True)
    shader = next(n for n in tree.nodes if n.type == 'BSDF_PRINCIPLED')
    assert shader.inputs["Base Color"].links[0].from_node == node
    materials.put_on_object(cube, image, first=5, count=3)  # again: the same node is reused
    assert sum(1 for n in tree.nodes if n.name.startswith(materials.FRAMES_NODE)) == 1


def test_plane_switches_between_reference_and_frames(quick_rig, module, tmp_path):
    rig, _ = quick_rig
    materials = module("blender_addon.materials")
    nodes = rig.talking_heads.image_plane.active_material.node_tree.nodes
    assert nodes[materials.MIX_NODE].inputs[0].default_value == 0.0  # the reference, before generating
    write_frames(tmp_path, range(1, 4))
    image = materials.load_sequence(str(tmp_path / "frame_0001.png"), "frames")
    materials.put_on_plane(rig, image, first=1, count=3)
    assert nodes[materials.MIX_NODE].inputs[0].default_value == 1.0
    rig.talking_heads.show_generated = False
    assert nodes[materials.MIX_NODE].inputs[0].default_value == 0.0
    assert nodes.active == nodes[materials.REFERENCE_NODE]

