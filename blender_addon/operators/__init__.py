"""The add-on's operators, one module per sidebar panel, in the order an artist uses them: `reference`, `rig`,
`animation`, `model`, `head`, `generate`, `export`; `worker` holds the preferences' (installing and checking the
worker); `scene` what they share (the scene's rig, where its files go).

Operators whose work needs the worker mix in `jobs.WorkerJob`: run from a script (EXEC) they finish before
returning, from a button (INVOKE) they run modally with a progress bar, Cancel and Esc. Every problem the
artist can fix is reported as one line (the operator returns CANCELLED), never as a traceback.

Undo: every operator that changes scene data is {'UNDO'}; the long ones leave out 'REGISTER', whose redo
panel would run the job again (see `jobs`). Those that change no scene data (exports, the worker's set-up in
the preferences, which Blender's undo does not cover) say so in their description.
"""
from . import animation, export, generate, head, model, reference, rig, worker

CLASSES = (
    reference.TALKINGHEADS_OT_add_reference,
    reference.TALKINGHEADS_OT_remove_reference,
    rig.TALKINGHEADS_OT_build_rig,
    rig.TALKINGHEADS_OT_keyframe_vertices,
    rig.TALKINGHEADS_OT_reset_expressions,
    animation.TALKINGHEADS_OT_import_track,
    animation.TALKINGHEADS_OT_import_audio,
    animation.TALKINGHEADS_OT_import_arkit,
    model.TALKINGHEADS_OT_finetune,
    head.TALKINGHEADS_OT_add_sample_head,
    head.TALKINGHEADS_OT_head_from_photo,
    head.TALKINGHEADS_OT_fit_head,
    head.TALKINGHEADS_OT_head_pins,
    head.TALKINGHEADS_OT_show_head_fit,
    generate.TALKINGHEADS_OT_generate,
    export.TALKINGHEADS_OT_export_video,
    export.TALKINGHEADS_OT_export_onnx,
    export.TALKINGHEADS_OT_export_head_gltf,
    worker.TALKINGHEADS_OT_install_worker,
    worker.TALKINGHEADS_OT_check_worker,
)
