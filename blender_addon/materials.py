"""Materials: the image plane's (the reference, or the generated frames over it) and the image-sequence
texture the generated frames play from.

The plane's material is emissive (the photo shows as it is, whatever the lighting) and mixes two image
nodes: the reference and the generated sequence. The mix factor is the rig's "Show Generated Frames".
"""
from __future__ import annotations

import os

import bpy

from ..core.errors import UserError

REFERENCE_NODE = "Talking Heads reference"
FRAMES_NODE = "Talking Heads frames"
MIX_NODE = "Talking Heads mix"


def plane_material(name: str, reference: bpy.types.Image) -> bpy.types.Material:
    material = bpy.data.materials.new(name)
    material.use_nodes = True
    nodes, links = material.node_tree.nodes, material.node_tree.links
    nodes.clear()
    ref = nodes.new("ShaderNodeTexImage")
    ref.name = ref.label = REFERENCE_NODE
    ref.image = reference
    ref.location = (-600, 150)
    frames = nodes.new("ShaderNodeTexImage")
    frames.name = frames.label = FRAMES_NODE
    frames.location = (-600, -150)
    mix = nodes.new("ShaderNodeMix")
    mix.name = mix.label = MIX_NODE
    mix.data_type = 'RGBA'
    mix.inputs[0].default_value = 0.0
    mix.location = (-300, 0)
    emission = nodes.new("ShaderNodeEmission")
    emission.location = (-100, 0)
    output = nodes.new("ShaderNodeOutputMaterial")
    output.location = (100, 0)
    links.new(ref.outputs["Color"], _mix_input(mix, "A"))
    links.new(frames.outputs["Color"], _mix_input(mix, "B"))
    links.new(_mix_output(mix), emission.inputs["Color"])
    links.new(emission.outputs["Emission"], output.inputs["Surface"])
    nodes.active = ref  # Solid mode's texture colour shows the active image node
    return material


def _mix_input(mix, which: str):
    return next(s for s in mix.inputs if s.name == which and s.type == 'RGBA')


def _mix_output(mix):
    return next(s for s in mix.outputs if s.type == 'RGBA')


def _plane_nodes(rig):
    plane = rig.talking_heads.image_plane
    material = plane.active_material if plane is not None else None
    nodes = material.node_tree.nodes if material is not None and material.node_tree else None
    if nodes is None or FRAMES_NODE not in nodes or MIX_NODE not in nodes:
        raise UserError(f"the image plane of {rig.name} has lost its Talking Heads material; build the rig again")
    return nodes


def show_generated(rig) -> None:
    """Show the generated frames on the plane, or the reference, as the rig's setting says."""
    nodes = _plane_nodes(rig)
    shown = rig.talking_heads.show_generated and rig.talking_heads.frames is not None
    nodes[MIX_NODE].inputs[0].default_value = 1.0 if shown else 0.0
    nodes.active = nodes[FRAMES_NODE] if shown else nodes[REFERENCE_NODE]


def load_sequence(first_frame_path: str, name: str) -> bpy.types.Image:
    """The numbered image sequence whose first file is `first_frame_path`, as a Blender image `name`."""
    image = bpy.data.images.get(name)
    if image is None:
        image = bpy.data.images.load(first_frame_path)
        image.name = name
    else:
        image.filepath = first_frame_path
    image.source = 'SEQUENCE'
    image.reload()
    return image


def use_sequence(image_user, first: int, count: int) -> None:
    """Play files numbered `first` .. `first + count - 1` on the scene frames of the same numbers.

    Blender shows file number clamp(frame - frame_start + 1, 1, frame_duration) + frame_offset.
    """
    image_user.frame_start = first
    image_user.frame_duration = count
    image_user.frame_offset = first - 1
    image_user.use_auto_refresh = True
    image_user.use_cyclic = False


def put_on_plane(rig, image: bpy.types.Image, first: int, count: int) -> None:
    nodes = _plane_nodes(rig)
    node = nodes[FRAMES_NODE]
    node.image = image
    use_sequence(node.image_user, first, count)
    rig.talking_heads.frames = image
    show_generated(rig)


def put_on_object(obj, image: bpy.types.Image, first: int, count: int) -> None:
    """Play the sequence on `obj`'s active material: its Principled BSDF's base colour, or an emission."""
    if obj.type not in {'MESH', 'CURVE', 'SURFACE', 'META', 'FONT'}:
        raise UserError(f"{obj.name} cannot have a material; select a mesh to show the frames on")
    material = obj.active_material
    if material is None:
        material = bpy.data.materials.new(f"{obj.name} talking head")
        obj.data.materials.append(material)
    material.use_nodes = True
    nodes, links = material.node_tree.nodes, material.node_tree.links
    node = nodes.get(FRAMES_NODE) or nodes.new("ShaderNodeTexImage")
    node.name = node.label = FRAMES_NODE
    node.image = image
    use_sequence(node.image_user, first, count)
    shader = next((n for n in nodes if n.type == 'BSDF_PRINCIPLED'), None)
    if shader is None:
        shader = nodes.new("ShaderNodeEmission")
        output = next((n for n in nodes if n.type == 'OUTPUT_MATERIAL'), None) or nodes.new("ShaderNodeOutputMaterial")
        links.new(shader.outputs[0], output.inputs["Surface"])
    links.new(node.outputs["Color"], shader.inputs["Base Color" if shader.type == 'BSDF_PRINCIPLED' else "Color"])
    nodes.active = node


def frame_path(folder: str, name: str, number: int) -> str:
    return os.path.join(folder, f"{name}{number:04d}.png")
