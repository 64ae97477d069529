"""The Export panel's operators: the frames as an MP4, the person model as ONNX (both in the worker), the head
as glTF with its first frame (Blender's own glTF exporter, on a temporary copy: the scene is unchanged)."""
from __future__ import annotations

import os

import bpy
from bpy.props import StringProperty

from ...app import protocol, worker_jobs
from ...core.errors import UserError, one_line
from ...export.provenance import metadata
from .. import materials
from ..jobs import WorkerJob
from .head import rig_head
from .scene import person_model_file, rig_folder, scene_rig

PROVENANCE_PROPERTY = "talking_heads_provenance"  # the glTF extras: the statement every output carries


class TALKINGHEADS_OT_export_video(WorkerJob, bpy.types.Operator):
    """Encode the generated frames as an H.264 MP4 (//talking_heads/<rig>/<rig>.mp4) at the scene's frame rate
    (it writes a file and changes nothing in the scene: there is nothing to undo)"""

    bl_idname = "talking_heads.export_video"
    bl_label = "Export Video"
    bl_options = {'REGISTER'}
    job_title = "Export video"

    def job_request(self, context) -> protocol.Job:
        rig = scene_rig(context)
        folder = rig_folder(rig.name)
        scene = context.scene
        return worker_jobs.ExportVideoJob(frames=folder, name="frame_",
                                       out=os.path.join(folder, f"{bpy.path.clean_name(rig.name)}.mp4"),
                                       fps=scene.render.fps / scene.render.fps_base)

    def job_finished(self, context, result: worker_jobs.ExportVideoResult) -> None:
        self.report({'INFO'}, f"wrote {bpy.path.relpath(result.video)} ({result.frames} frames)")


class TALKINGHEADS_OT_export_onnx(WorkerJob, bpy.types.Operator):
    """Export the person model to ONNX (//talking_heads/<rig>/person.onnx) and use it for the live preview"""

    bl_idname = "talking_heads.export_onnx"
    bl_label = "Export ONNX Model"
    bl_options = {'UNDO'}
    job_title = "Export ONNX"

    def job_request(self, context) -> protocol.Job:
        rig = scene_rig(context)
        return worker_jobs.ExportOnnxJob(person=person_model_file(rig), out=os.path.join(rig_folder(rig.name), "person.onnx"))

    def job_finished(self, context, result: worker_jobs.ExportOnnxResult) -> None:
        context.scene.talking_heads.preview_model = bpy.path.relpath(result.onnx)
        self.report({'INFO'}, f"wrote {context.scene.talking_heads.preview_model}; the live preview uses it")




class TALKINGHEADS_OT_export_head_gltf(bpy.types.Operator):
    """Export the head as glTF (.glb) with its first generated frame as its base colour, marked synthetic in
    its extras, for game engines (//talking_heads/<rig>/<head>.glb; the scene is unchanged)"""

    bl_idname = "talking_heads.export_head_gltf"
    bl_label = "Export Head (glTF)"
    bl_options = {'REGISTER'}

    filepath: StringProperty(name="File", subtype='FILE_PATH', default="",
                             description="The .glb or .gltf to write (empty: beside the frames)")

    def execute(self, context):
        try:
            rig = scene_rig(context)
            head = rig_head(rig)
            first = first_frame(head)
            path = bpy.path.abspath(self.filepath) if self.filepath else \
                os.path.join(rig_folder(rig.name), f"{bpy.path.clean_name(head.name)}.glb")
            export_head(context, head, first, path)
        except UserError as e:
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        except RuntimeError as e:  # the exporter's own failure, as one line
            self.report({'ERROR'}, f"the glTF export failed: {one_line(str(e))}")
            return {'CANCELLED'}
        self.report({'INFO'}, f"wrote {bpy.path.relpath(path)}")
        return {'FINISHED'}


def first_frame(head) -> str:
    """The first file of the frames playing on the head (its UV frames, or a Head from Photo's frames)."""
    for material in head.data.materials:
        nodes = material.node_tree.nodes if material is not None and material.node_tree is not None else ()
        node = nodes.get(materials.HEAD_FRAMES_NODE) if nodes else None
        if node is not None and node.image is not None and node.image.source == 'SEQUENCE':
            path = bpy.path.abspath(node.image.filepath, library=node.image.library)
            if os.path.isfile(path):
                return path
    raise UserError(f"no frames play on {head.name} yet: press Generate Frames first")


def export_head(context, head, first_path: str, path: str) -> None:
    """Write `head` as glTF with the still image `first_path` where its frames play, through a temporary copy
    (its materials copied too) that is removed afterwards, whatever happens."""
    if os.path.splitext(path)[1].lower() not in (".glb", ".gltf"):
        raise UserError(f"{os.path.basename(path)}: a glTF file ends in .glb or .gltf; choose another name")
    still = bpy.data.images.load(first_path, check_existing=False)
    copy = head.copy()
    copy.data = head.data.copy()
    copies, composites = [], []
    statement = metadata()
    selected, active = list(context.selected_objects), context.view_layer.objects.active
    try:
        for slot in copy.material_slots:
            if slot.material is None or slot.material.node_tree is None \
                    or materials.HEAD_FRAMES_NODE not in slot.material.node_tree.nodes:
                continue
            material = slot.material.copy()
            copies.append(material)
            slot.link = 'OBJECT'  # the copy's own slot: the head's mesh and materials stay as they are
            slot.material = material
            composite = materials.show_still_for_export(material, still, head.talking_heads.head_uv_map)
            if composite is not None:
                composites.append(composite)
        copy[PROVENANCE_PROPERTY] = statement
        copy.data[PROVENANCE_PROPERTY] = statement
        context.scene.collection.objects.link(copy)
        for obj in selected:
            obj.select_set(False)
        copy.select_set(True)
        context.view_layer.objects.active = copy
        bpy.ops.export_scene.gltf(filepath=path, use_selection=True, export_extras=True, export_animations=False,
                                  export_format='GLTF_SEPARATE' if path.lower().endswith(".gltf") else 'GLB')
    finally:
        mesh = copy.data
        bpy.data.objects.remove(copy)
        bpy.data.meshes.remove(mesh)
        for material in copies:
            bpy.data.materials.remove(material)
        bpy.data.images.remove(still)
        for image in composites:
            path = bpy.path.abspath(image.filepath_raw)
            bpy.data.images.remove(image)
            if os.path.isfile(path):
                os.remove(path)
        for obj in selected:
            obj.select_set(True)
        context.view_layer.objects.active = active
