"""Materials: the image plane's (the reference, or the generated frames over it) and the image-sequence
texture the generated frames play from.

The plane's material is emissive (the photo shows as it is, whatever the lighting) and mixes two image
nodes: the reference and the generated sequence. The mix factor is the rig's "Show Generated Frames".

**The head matte.** Frames generated with alpha (RGBA: the head opaque, the rest transparent) make the
plane show the head alone over whatever is behind it: an alpha node (a float mix between 1, opaque, and the
frames' alpha) is the factor of a mix between a Transparent BSDF and the emission, and the material blends
(EEVEE's blended render method, or alpha blend before 4.2; Cycles needs nothing more). The reference photo,
or frames without alpha, keep the plane opaque. A material from before the head matte gets its nodes when
alpha frames first play on it.

**The head.** A fitted head's UV frames (RGBA, alpha = the fit's weight) go into each material whose faces
got weight: an image-sequence node (CLIP extension: outside the 0-1 tile, UDIM tiles beyond keep their own
colour) on the fitted UV map, mixed over the material's own Base Color (whatever was linked to it, or its
value) by the frames' alpha. Only these named nodes are ever added or replaced, so the artist's material is
kept whole and wiring again changes nothing else. A Head from Photo head's own material shows the photo, then
the frames, on its UVs (the photo's pixels), lit (Principled BSDF) or unlit (its emission) as the head's
"Unlit" setting says: unlit, a render from the photo's camera gives the frames back as they are. The frames
go over a plain colour by the head's photo weight (`core.head.from_photo`: 1 over the face, falling to 0 where
the head turns edge-on to the photo's camera and on its back), so a turned head's sides show that colour,
not the photo's background and hair stretched across them.
"""
from __future__ import annotations

import os

import numpy as np

import bpy

from ..core.colour import linear_to_srgb
from ..core.errors import UserError
from ..core.frame_names import frame_name
from . import compat

REFERENCE_NODE = "Talking Heads reference"
FRAMES_NODE = "Talking Heads frames"
MIX_NODE = "Talking Heads mix"
ALPHA_NODE = "Talking Heads alpha"          # float mix: 1 (opaque) or the frames' alpha
CUTOUT_NODE = "Talking Heads cut-out"       # shader mix: transparent where the alpha is 0
TRANSPARENT_NODE = "Talking Heads transparent"
HEAD_FRAMES_NODE = "Talking Heads head frames"
HEAD_UV_NODE = "Talking Heads head UV"
HEAD_MIX_NODE = "Talking Heads head mix"      # the frames over the material's own Base Color, by their alpha
HEAD_UNLIT_NODE = "Talking Heads head unlit"  # Head from Photo: the Principled BSDF or the emission
HEAD_WEIGHT_NODE = "Talking Heads head photo weight"   # Head from Photo: the photo's weight per vertex ...
HEAD_FADE_NODE = "Talking Heads head fade"    # ... mixing the frames over the plain colour
PHOTO_WEIGHT_ATTRIBUTE = "talking_heads_photo_weight"  # the head mesh's float point attribute it reads


def plane_material(name: str, reference: bpy.types.Image) -> bpy.types.Material:
    material = bpy.data.materials.new(name)
    nodes, links = compat.shader_nodes(material)
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
    _add_cutout(material)
    return material


def _add_cutout(material) -> None:
    """The head matte's nodes between the plane's emission and its output (see the module's description)."""
    nodes, links = material.node_tree.nodes, material.node_tree.links
    if CUTOUT_NODE in nodes:
        return
    output = next(n for n in nodes if n.type == 'OUTPUT_MATERIAL')
    emission = next(n for n in nodes if n.type == 'EMISSION')
    frames = nodes[FRAMES_NODE]
    alpha = nodes.new("ShaderNodeMix")
    alpha.name = alpha.label = ALPHA_NODE
    alpha.data_type = 'FLOAT'
    alpha.inputs[0].default_value = 0.0
    _float_input(alpha, "A").default_value = 1.0
    alpha.location = (-300, -250)
    transparent = nodes.new("ShaderNodeBsdfTransparent")
    transparent.name = transparent.label = TRANSPARENT_NODE
    transparent.location = (-100, 150)
    cutout = nodes.new("ShaderNodeMixShader")
    cutout.name = cutout.label = CUTOUT_NODE
    cutout.location = (100, 0)
    output.location = (300, 0)
    links.new(frames.outputs["Alpha"], _float_input(alpha, "B"))
    links.new(_float_output(alpha), cutout.inputs["Fac"])
    links.new(transparent.outputs["BSDF"], cutout.inputs[1])
    links.new(emission.outputs["Emission"], cutout.inputs[2])
    links.new(cutout.outputs["Shader"], output.inputs["Surface"])


def _float_input(mix, which: str):
    return next(s for s in mix.inputs if s.name == which and s.type == 'VALUE')


def _float_output(mix):
    return next(s for s in mix.outputs if s.type == 'VALUE')


def use_alpha_blending(material, on: bool) -> None:
    """Blend the material over what is behind it (on), or draw it opaque."""
    material.surface_render_method = 'BLENDED' if on else 'DITHERED'   # EEVEE Next's, as in every Blender 4.2+
    material.use_transparency_overlap = False   # a flat plane: no need to sort its own faces


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
    """Show the generated frames on the plane, or the reference, as the rig's setting says; frames with a
    head matte show the head alone."""
    nodes = _plane_nodes(rig)
    settings = rig.talking_heads
    shown = settings.show_generated and settings.frames is not None
    nodes[MIX_NODE].inputs[0].default_value = 1.0 if shown else 0.0
    nodes.active = nodes[FRAMES_NODE] if shown else nodes[REFERENCE_NODE]
    cut_out = shown and settings.frames_alpha
    if cut_out or ALPHA_NODE in nodes:
        material = rig.talking_heads.image_plane.active_material
        _add_cutout(material)
        nodes[ALPHA_NODE].inputs[0].default_value = 1.0 if cut_out else 0.0
        use_alpha_blending(material, cut_out)


def load_sequence(first_frame_path: str, name: str, alpha: bool = False) -> bpy.types.Image:
    """The numbered image sequence whose first file is `first_frame_path`, as a Blender image `name`; with
    `alpha` its alpha is kept straight (RGBA frames: the head matte), else ignored."""
    image = bpy.data.images.get(name)
    if image is None:
        image = bpy.data.images.load(first_frame_path)
        image.name = name
    else:
        image.filepath = first_frame_path
    image.source = 'SEQUENCE'
    image.alpha_mode = 'STRAIGHT' if alpha else 'NONE'
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


def put_on_plane(rig, image: bpy.types.Image, first: int, count: int, alpha: bool = False) -> None:
    """Play the sequence on the rig's image plane; `alpha`: its frames carry the head matte."""
    nodes = _plane_nodes(rig)
    node = nodes[FRAMES_NODE]
    node.image = image
    use_sequence(node.image_user, first, count)
    rig.talking_heads.frames = image
    rig.talking_heads.frames_alpha = alpha
    show_generated(rig)


def put_on_object(obj, image: bpy.types.Image, first: int, count: int, alpha: bool = False) -> None:
    """Play the sequence on `obj`'s active material: its Principled BSDF's base colour, or an emission;
    `alpha`: the frames' alpha cuts the head out (the Principled BSDF's Alpha, or a mix with transparency)."""
    if obj.type not in {'MESH', 'CURVE', 'SURFACE', 'META', 'FONT'}:
        raise UserError(f"{obj.name} cannot have a material; select a mesh to show the frames on")
    material = obj.active_material
    if material is None:
        material = bpy.data.materials.new(f"{obj.name} talking head")
        obj.data.materials.append(material)
    nodes, links = compat.shader_nodes(material)
    node = nodes.get(FRAMES_NODE) or nodes.new("ShaderNodeTexImage")
    node.name = node.label = FRAMES_NODE
    node.image = image
    use_sequence(node.image_user, first, count)
    shader = next((n for n in nodes if n.type == 'BSDF_PRINCIPLED'), None)
    if shader is None:
        shader = next((n for n in nodes if n.type == 'EMISSION'), None) or nodes.new("ShaderNodeEmission")
        output = next((n for n in nodes if n.type == 'OUTPUT_MATERIAL'), None) or nodes.new("ShaderNodeOutputMaterial")
        if CUTOUT_NODE not in nodes:
            links.new(shader.outputs[0], output.inputs["Surface"])
    links.new(node.outputs["Color"], shader.inputs["Base Color" if shader.type == 'BSDF_PRINCIPLED' else "Color"])
    if shader.type == 'BSDF_PRINCIPLED':
        alpha_input = shader.inputs["Alpha"]
        for link in list(alpha_input.links):
            links.remove(link)
        if alpha:
            links.new(node.outputs["Alpha"], alpha_input)
    else:
        _object_cutout(nodes, links, node, shader, alpha)
    use_alpha_blending(material, alpha)
    nodes.active = node


def _object_cutout(nodes, links, frames, emission, alpha: bool) -> None:
    """An emission shader cut out by the frames' alpha (or not: then it goes to the output directly)."""
    output = next((n for n in nodes if n.type == 'OUTPUT_MATERIAL'), None) or nodes.new("ShaderNodeOutputMaterial")
    if not alpha:
        if CUTOUT_NODE in nodes:
            nodes.remove(nodes[CUTOUT_NODE])
        if TRANSPARENT_NODE in nodes:
            nodes.remove(nodes[TRANSPARENT_NODE])
        links.new(emission.outputs[0], output.inputs["Surface"])
        return
    transparent = nodes.get(TRANSPARENT_NODE) or nodes.new("ShaderNodeBsdfTransparent")
    transparent.name = transparent.label = TRANSPARENT_NODE
    cutout = nodes.get(CUTOUT_NODE) or nodes.new("ShaderNodeMixShader")
    cutout.name = cutout.label = CUTOUT_NODE
    links.new(frames.outputs["Alpha"], cutout.inputs["Fac"])
    links.new(transparent.outputs["BSDF"], cutout.inputs[1])
    links.new(emission.outputs[0], cutout.inputs[2])
    links.new(cutout.outputs["Shader"], output.inputs["Surface"])


def frame_path(folder: str, name: str, number: int) -> str:
    return os.path.join(folder, frame_name(name, number))


# --- the head ---------------------------------------------------------------------------------------------------

def wire_head_frames(material, image: bpy.types.Image, uv_map: str, first: int, count: int) -> None:
    """Play the UV frames `image` (a sequence) over `material`'s own Base Color, on UV map `uv_map`."""
    nodes, links = compat.shader_nodes(material)
    shader = next((n for n in nodes if n.type == 'BSDF_PRINCIPLED'), None)
    if shader is None:
        raise UserError(f"the material {material.name} has no Principled BSDF to show the frames on; add one "
                        f"(or give those faces a material that has one)")
    frames = nodes.get(HEAD_FRAMES_NODE) or nodes.new("ShaderNodeTexImage")
    frames.name = frames.label = HEAD_FRAMES_NODE
    frames.image = image
    frames.extension = 'CLIP'
    frames.location = shader.location.x - 700, shader.location.y - 300
    use_sequence(frames.image_user, first, count)
    uv = nodes.get(HEAD_UV_NODE) or nodes.new("ShaderNodeUVMap")
    uv.name = uv.label = HEAD_UV_NODE
    uv.uv_map = uv_map
    uv.location = frames.location.x - 250, frames.location.y
    links.new(uv.outputs["UV"], frames.inputs["Vector"])
    mix = nodes.get(HEAD_MIX_NODE)
    if mix is None:  # first time: the material's own colour becomes the mix's A
        mix = nodes.new("ShaderNodeMix")
        mix.name = mix.label = HEAD_MIX_NODE
        mix.data_type = 'RGBA'
        mix.location = shader.location.x - 250, shader.location.y
        base = shader.inputs["Base Color"]
        if base.links:
            links.new(base.links[0].from_socket, _mix_input(mix, "A"))
        else:
            _mix_input(mix, "A").default_value = base.default_value
        links.new(_mix_output(mix), base)
    links.new(frames.outputs["Color"], _mix_input(mix, "B"))
    links.new(frames.outputs["Alpha"], mix.inputs["Factor"])
    nodes.active = frames


def head_photo_material(name: str, image: bpy.types.Image, plain_colour) -> bpy.types.Material:
    """A Head from Photo head's material: `image` on its UVs over `plain_colour` (linear RGB) by the mesh's
    `PHOTO_WEIGHT_ATTRIBUTE`, lit or unlit (see the module's description)."""
    material = bpy.data.materials.new(name)
    nodes, links = compat.shader_nodes(material)
    nodes.clear()
    frames = nodes.new("ShaderNodeTexImage")
    frames.name = frames.label = HEAD_FRAMES_NODE
    frames.image = image
    frames.location = (-950, 0)
    weight = nodes.new("ShaderNodeAttribute")
    weight.name = weight.label = HEAD_WEIGHT_NODE
    weight.attribute_type = 'GEOMETRY'
    weight.attribute_name = PHOTO_WEIGHT_ATTRIBUTE
    weight.location = (-950, 300)
    fade = nodes.new("ShaderNodeMix")
    fade.name = fade.label = HEAD_FADE_NODE
    fade.data_type = 'RGBA'
    _mix_input(fade, "A").default_value = (*plain_colour[:3], 1.0)
    fade.location = (-650, 0)
    shader = nodes.new("ShaderNodeBsdfPrincipled")
    shader.location = (-350, 200)
    emission = nodes.new("ShaderNodeEmission")
    emission.location = (-350, -250)
    unlit = nodes.new("ShaderNodeMixShader")
    unlit.name = unlit.label = HEAD_UNLIT_NODE
    unlit.location = (0, 0)
    output = nodes.new("ShaderNodeOutputMaterial")
    output.location = (250, 0)
    links.new(weight.outputs["Fac"], fade.inputs["Factor"])
    links.new(frames.outputs["Color"], _mix_input(fade, "B"))
    links.new(_mix_output(fade), shader.inputs["Base Color"])
    links.new(_mix_output(fade), emission.inputs["Color"])
    links.new(shader.outputs["BSDF"], unlit.inputs[1])
    links.new(emission.outputs["Emission"], unlit.inputs[2])
    links.new(unlit.outputs["Shader"], output.inputs["Surface"])
    nodes.active = frames
    return material


def set_head_unlit(head, unlit: bool) -> None:
    """Show a Head from Photo head's frames lit (Principled BSDF) or unlit (their emission, as they are)."""
    for material in head.data.materials:
        if material is not None and material.node_tree is not None and HEAD_UNLIT_NODE in material.node_tree.nodes:
            material.node_tree.nodes[HEAD_UNLIT_NODE].inputs["Fac"].default_value = 1.0 if unlit else 0.0


def play_on_photo_head(head, image: bpy.types.Image, first: int, count: int) -> None:
    """Play the generated frames (the photo's own pixels, its UVs) on a Head from Photo head."""
    nodes = next((m.node_tree.nodes for m in head.data.materials
                  if m is not None and m.node_tree is not None and HEAD_FRAMES_NODE in m.node_tree.nodes), None)
    if nodes is None:
        raise UserError(f"{head.name} has lost its Talking Heads material; press Head from Photo again")
    nodes[HEAD_FRAMES_NODE].image = image
    use_sequence(nodes[HEAD_FRAMES_NODE].image_user, first, count)


def show_still_for_export(material, still: bpy.types.Image, uv_map: str) -> bpy.types.Image | None:
    """For a glTF export's copy of a head material: one image straight into the Base Color (glTF holds an
    image texture there, not our mix). On a fitted head's material the still UV frame (its alpha: where the
    photo shows the surface) is laid over what the head mix's A holds, the material's own colour: a colour, or
    an image texture on the fitted UV map `uv_map`, resampled to the still's size. That composite is returned
    (the caller removes it after the export). Anything else under the frames (a procedural colour, a texture on
    another UV map) cannot be one image: the still alone, as on a Head from Photo head (None returned)."""
    nodes, links = material.node_tree.nodes, material.node_tree.links
    frames = nodes[HEAD_FRAMES_NODE]
    mix = nodes.get(HEAD_MIX_NODE)
    under = _colour_under(_mix_input(mix, "A"), uv_map, still.size) if mix is not None else None
    composite = None
    if under is not None:
        w, h = still.size
        rgba = np.empty(w * h * 4, np.float32)
        still.pixels.foreach_get(rgba)
        rgba = rgba.reshape(-1, 4)
        alpha = rgba[:, 3:]
        laid = np.concatenate([rgba[:, :3] * alpha + under * (1 - alpha), np.ones_like(alpha)], axis=1)
        composite = bpy.data.images.new(f"{material.name} still", w, h, alpha=False)
        composite.pixels.foreach_set(laid.ravel())
        # the exporter writes images from files: a PNG in Blender's temporary folder, removed with the image
        composite.filepath_raw = os.path.join(bpy.app.tempdir, f"{bpy.path.clean_name(material.name)}_still.png")
        composite.file_format = 'PNG'
        composite.save()
    frames.image = composite or still
    shader = next((n for n in nodes if n.type == 'BSDF_PRINCIPLED'), None)
    if shader is not None:
        links.new(frames.outputs["Color"], shader.inputs["Base Color"])
    return composite


def _colour_under(socket, uv_map: str, size) -> np.ndarray | None:
    """(W * H, 3) sRGB values of what `socket` holds over the UV map at `size`, bottom row first (Blender's
    pixel order); None where that is not one colour or one image on `uv_map`."""
    w, h = size
    if not socket.links:
        linear = np.asarray(socket.default_value[:3], np.float32)
        return np.broadcast_to(linear_to_srgb(linear), (w * h, 3))
    node = socket.links[0].from_node
    if node.type != 'TEX_IMAGE' or node.image is None or not node.image.size[0]:
        return None
    vector = node.inputs["Vector"]
    if vector.links and not (vector.links[0].from_node.type == 'UVMAP'
                             and vector.links[0].from_node.uv_map in ("", uv_map)):
        return None
    copy = node.image.copy()
    try:
        copy.scale(w, h)
        pixels = np.empty(w * h * 4, np.float32)
        copy.pixels.foreach_get(pixels)
    finally:
        bpy.data.images.remove(copy)
    rgb = pixels.reshape(-1, 4)[:, :3]
    return linear_to_srgb(rgb) if node.image.is_float else rgb     # a byte image's pixels are its sRGB values
