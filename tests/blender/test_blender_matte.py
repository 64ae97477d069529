"""The head matte in Blender: an RGBA sequence (the head opaque, the rest transparent) round-trips, and the
plane's material shows it with alpha, the head alone over what is behind it, after save and reopen (Cycles
renders it to prove it)."""
from pathlib import Path

import bpy
import numpy as np
import pytest

FRAMES = range(1, 4)
SIZE = 64
BLUE = (20, 40, 230)


def write_rgba_sequence(folder: Path) -> Path:
    """Frames whose left half is an opaque blue "head" and whose right half is transparent, written by the
    project's own sequence writer (RGBA PNG, straight alpha)."""
    from talking_heads.export.sequence import SequenceWriter

    rgb = np.zeros((SIZE, SIZE, 3), np.uint8)
    rgb[:] = BLUE
    alpha = np.zeros((SIZE, SIZE), np.uint8)
    alpha[:, : SIZE // 2] = 255
    with SequenceWriter(folder, name="frame_", ext="png", start=FRAMES[0]) as writer:
        for n in FRAMES:
            writer.write(n, rgb, alpha=alpha)
    return folder / "frame_0001.png"


def render_pixels(path: Path) -> np.ndarray:
    """The scene through its camera, by Cycles, as sRGB uint8 (H, W, 3)."""
    from PIL import Image

    scene = bpy.context.scene
    scene.render.engine = 'CYCLES'
    scene.cycles.samples = 1
    scene.cycles.use_denoising = False
    scene.cycles.device = 'CPU'
    scene.render.resolution_x = scene.render.resolution_y = 48
    scene.render.resolution_percentage = 100
    scene.render.film_transparent = False
    scene.view_settings.view_transform = 'Standard'
    scene.render.image_settings.file_format = 'PNG'
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    return np.asarray(Image.open(path).convert("RGB"))


def green_world():
    world = bpy.context.scene.world or bpy.data.worlds.new("World")
    bpy.context.scene.world = world
    world.use_nodes = True
    background = next(n for n in world.node_tree.nodes if n.type == 'BACKGROUND')
    background.inputs["Color"].default_value = (0.0, 1.0, 0.0, 1.0)
    background.inputs["Strength"].default_value = 1.0


def test_an_rgba_sequence_shows_the_head_alone_after_save_and_reopen(quick_rig, module, tmp_path):
    from talking_heads.export.sequence import read_image

    materials = module("blender_addon.materials")
    rig, _ = quick_rig
    scene = bpy.context.scene
    bpy.data.objects.remove(bpy.data.objects["Cube"])   # nothing but the world behind the plane
    green_world()
    first = write_rgba_sequence(tmp_path / "frames")
    assert read_image(first).shape == (SIZE, SIZE, 4)      # the writer's RGBA, read back as written
    image = materials.load_sequence(str(first), f"{rig.name} frames", alpha=True)
    materials.put_on_plane(rig, image, FRAMES[0], len(FRAMES), alpha=True)
    # the reference photo used as a stand-in size: the plane keeps its aspect, the frames fill it
    blend = tmp_path / "matte.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.read_homefile(use_factory_startup=True)
    bpy.ops.wm.open_mainfile(filepath=str(blend))

    scene = bpy.context.scene
    rig = scene.talking_heads.rig
    assert rig.talking_heads.frames_alpha
    image = rig.talking_heads.frames
    assert image.source == 'SEQUENCE' and image.alpha_mode == 'STRAIGHT'
    material = rig.talking_heads.image_plane.active_material
    nodes = material.node_tree.nodes
    assert nodes[materials.ALPHA_NODE].inputs[0].default_value == 1.0       # the frames' alpha is used
    alpha_link = next(link for link in material.node_tree.links if link.to_node == nodes[materials.ALPHA_NODE]
                      and link.from_node == nodes[materials.FRAMES_NODE])
    assert alpha_link.from_socket.name == "Alpha"
    output = next(n for n in nodes if n.type == 'OUTPUT_MATERIAL')
    assert output.inputs["Surface"].links[0].from_node == nodes[materials.CUTOUT_NODE]
    if hasattr(material, "surface_render_method"):
        assert material.surface_render_method == 'BLENDED'
    else:
        assert material.blend_method == 'BLEND'

    scene.frame_set(FRAMES[0])
    pixels = render_pixels(tmp_path / "render.png").astype(int)
    # The plane fills the camera's frame across (the photo is square, the frame wider): sample its middle
    # row inside the plane, a quarter in from each of its sides.
    plane = rig.talking_heads.image_plane
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    (w, h) = rig.talking_heads.plane_size
    row = pixels.shape[0] // 2

    def pixel_at(local_x):
        seen = world_to_camera_view(scene, scene.camera, plane.matrix_world @ Vector((local_x, 0, 0)))
        return pixels[row, int(seen.x * pixels.shape[1])]

    head, behind = pixel_at(-w / 4), pixel_at(w / 4)
    assert head[2] > 150 and head[1] < 100, head            # the opaque half: the frames' blue
    assert behind[1] > 200 and behind[2] < 60, behind       # the transparent half: the green world behind

    # Hiding the generated frames shows the reference photo again, opaque.
    rig.talking_heads.show_generated = False
    assert nodes[materials.ALPHA_NODE].inputs[0].default_value == 0.0
    if hasattr(material, "surface_render_method"):
        assert material.surface_render_method == 'DITHERED'


def test_frames_with_alpha_on_a_selected_object(scene, module, tmp_path):
    materials = module("blender_addon.materials")
    first = write_rgba_sequence(tmp_path)
    image = materials.load_sequence(str(first), "clip", alpha=True)
    cube = bpy.data.objects["Cube"]
    materials.put_on_object(cube, image, first=1, count=3, alpha=True)
    tree = cube.active_material.node_tree
    shader = next(n for n in tree.nodes if n.type == 'BSDF_PRINCIPLED')
    assert shader.inputs["Alpha"].links[0].from_socket.name == "Alpha"
    assert shader.inputs["Alpha"].links[0].from_node == tree.nodes[materials.FRAMES_NODE]
    materials.put_on_object(cube, image, first=1, count=3, alpha=False)   # frames without a matte: opaque
    assert not shader.inputs["Alpha"].links


@pytest.mark.parametrize("alpha", [False, True])
def test_generate_passes_the_head_matte_to_the_worker(quick_rig, module, tmp_path, alpha):
    """The operator's option and the panel's setting reach the job (the job itself: app.generate)."""
    rig, _ = quick_rig
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    rig = bpy.context.scene.talking_heads.rig
    rig.talking_heads.person_model = str(tmp_path / "person.safetensors")
    (tmp_path / "person.safetensors").write_bytes(b"not used: only the request is built")
    operators = module("blender_addon.operators.generate")
    bpy.context.scene.talking_heads.generate_alpha = alpha

    class Properties:
        def is_property_set(self, name):
            return False

    stand_in = type("Op", (), {"target": 'SCENE', "alpha": False, "properties": Properties()})()
    for name in ("_target", "_selected"):
        setattr(type(stand_in), name, getattr(operators.TALKINGHEADS_OT_generate, name))
    request = operators.TALKINGHEADS_OT_generate.job_request(stand_in, bpy.context)
    assert request.alpha is alpha and request.c2pa_key is None and request.c2pa_cert is None
