"""The Blender side of Neural Talking Heads: the only package that imports bpy.

Like Blender's own glTF add-on, it is a thin layer over a core that knows nothing of Blender: the rig's
geometry is `core.geometry.camera` and `core.face` (numpy), and everything that needs torch runs in a worker
process (`python -m core worker`, driven by `worker_client`). The modules, in the order they are registered:

- `preferences`  the worker's Python and device; installing its environment
- `properties`   what the .blend keeps: the scene's references and settings, each rig's sources and results
- `operators`    references, build rig, keyframe vertices, import track / speech / iPhone capture, fine-tune,
                 generate, export
- `jobs`         long operators (modal with progress, or blocking in scripts): the Cancel button, the
                 status bar's progress bar
- `preview`      the live preview while scrubbing (the person model's ONNX export in onnxruntime)
- `panels`       the "Talking Heads" sidebar tab
and, registering nothing: `compat` (every difference between Blender versions), `rig_objects`,
`materials`, `driver`, `keyframes`, `sound`, `thumbnail`, `track_file`, `worker_client`; `build` packages the
extension (no bpy). The worker's jobs are app/worker_jobs.py's (the add-on builds their requests).

Modules that touch bpy are imported by `register`, so that `python -m blender_addon.build` runs without it.
"""


def _modules():
    from . import jobs, operators, panels, preferences, preview, properties

    return preferences, properties, operators, jobs, preview, panels


def register():
    import bpy

    for module in _modules():
        for cls in module.CLASSES:
            bpy.utils.register_class(cls)
    from . import jobs, preview, properties

    properties.register()
    jobs.register()
    preview.register()


def unregister():
    import bpy

    from . import jobs, preview, properties, worker_client

    jobs.unregister()
    worker_client.stop_all()
    preview.unregister()
    properties.unregister()
    for module in reversed(_modules()):
        for cls in reversed(module.CLASSES):
            bpy.utils.unregister_class(cls)
