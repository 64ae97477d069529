"""Every difference between the Blender versions the add-on supports (4.2 LTS, 4.5 LTS, 5.2 LTS, 5.3), in one
place: the rest of the add-on calls these and never tests `bpy.app.version` itself.

| what                              | 4.2, 4.3            | 4.4, 4.5              | 5.0                 | 5.1 and later        |
| --------------------------------- | ------------------- | --------------------- | ------------------- | -------------------- |
| a new shape key's value           | 0.0                 | 0.0                   | 0.0                 | 1.0                  |
| an action's F-Curves              | `action.fcurves`    | the slot's channelbag | the slot's channelbag | the slot's channelbag |
| the sequencer's strips            | `sequences`         | `strips`              | `strips`            | `strips`             |
| paths stored relative to the .blend | implicit          | PATH_SUPPORTS_BLEND_RELATIVE | same         | same                 |
| a shape key's `lock_shape`        | yes (4.1+)          | yes                   | yes                 | yes                  |
| a new material's node tree        | after `use_nodes`   | after `use_nodes`     | always (`use_nodes` deprecated) | always   |
| Blender's Python                  | 3.11                | 3.11                  | 3.11                | 3.13 (distributions: their own, 3.14 in Debian) |
"""
from __future__ import annotations

import bpy

# StringProperty options for paths the add-on stores relative to the .blend ("//talking_heads/..."): Blender
# 4.5 asks such properties to declare that they accept the "//" prefix.
BLEND_RELATIVE = {'PATH_SUPPORTS_BLEND_RELATIVE'} if bpy.app.version >= (4, 5, 0) else set()


def new_shape_key(obj, name: str, value: float = 0.0, lock: bool = False):
    """A new shape key of `obj` (from the Basis, not the mix) at `value`. Blender 5.1 changed a new key's value
    from 0.0 to 1.0, so the value is always set, never assumed."""
    key = obj.shape_key_add(name=name, from_mix=False)
    key.value = value
    if lock and hasattr(key, "lock_shape"):  # edits cannot reach a locked key by accident
        key.lock_shape = True
    return key


def fcurves_of(id_data):
    """The F-Curves animating `id_data`: its action's (Blender 4.2, 4.3) or its slot's (4.4 and later), or None
    when it has no action."""
    animation = id_data.animation_data
    if animation is None or animation.action is None:
        return None
    slot = getattr(animation, "action_slot", None)
    if slot is not None:
        from bpy_extras import anim_utils

        channelbag = anim_utils.action_get_channelbag_for_slot(animation.action, slot)
        return channelbag.fcurves if channelbag is not None else None
    return animation.action.fcurves


def sequencer_strips(scene):
    """The sequencer's top-level strips, the sequence editor created if needed (Blender 4.4 renamed
    `sequences` to `strips`)."""
    editor = scene.sequence_editor or scene.sequence_editor_create()
    return editor.strips if hasattr(editor, "strips") else editor.sequences


def shader_nodes(material):
    """`material`'s shader nodes and links. Before Blender 5.0 a new material has no node tree until
    `use_nodes` is set; 5.0 gives every material one and deprecates `use_nodes` (to go in 6.0)."""
    if bpy.app.version < (5, 0, 0):
        material.use_nodes = True
    return material.node_tree.nodes, material.node_tree.links
