"""What background mode cannot show: the sidebar's panels (drawn into a recording layout that checks every
property and operator they name) and the modal path of long operators (driven by fake timer and Esc
events): progress, status text with time left, Esc, and the clean-up."""
import time
from types import SimpleNamespace

import bpy
import pytest

PANEL_ORDER = ["Talking Heads", "1. Reference", "2. Rig", "3. Animation", "4. Model", "5. Generate", "6. Preview",
               "7. Export"]


class RecordingLayout:
    """Stands in for `UILayout`: checks that drawn properties and operators exist, and records labels."""

    def __init__(self, log):
        self.log = log
        self.use_property_split = False

    def _child(self, *args, **kwargs):
        return RecordingLayout(self.log)

    row = column = box = split = grid_flow = _child

    def prop(self, data, name, **kwargs):
        assert name in data.bl_rna.properties, f"{type(data).__name__} has no property {name!r}"
        self.log.append(("prop", name))

    def operator(self, idname, **kwargs):
        module, name = idname.split(".")
        rna = getattr(getattr(bpy.ops, module), name).get_rna_type()  # KeyError if there is no such operator
        self.log.append(("operator", idname))
        return OperatorProperties(rna)

    def label(self, text="", **kwargs):
        self.log.append(("label", text))

    def separator(self, **kwargs):
        pass

    def template_list(self, *args, **kwargs):
        self.log.append(("list", args[0]))

    def template_icon(self, **kwargs):
        self.log.append(("icon", kwargs.get("icon_value")))

    def icon(self, data):
        assert isinstance(data, bpy.types.ID)
        return 1


class OperatorProperties:
    def __init__(self, rna):
        object.__setattr__(self, "rna", rna)

    def __setattr__(self, name, value):
        assert name in self.rna.properties, f"{self.rna.identifier} has no property {name!r}"


def test_sidebar_tab_panels_in_working_order(quick_rig, module, astronaut_png):
    rig, _ = quick_rig
    panels = [c for c in module("blender_addon.panels").CLASSES if issubclass(c, bpy.types.Panel)]
    assert [p.bl_label for p in panels] == PANEL_ORDER
    assert {(p.bl_space_type, p.bl_region_type, p.bl_category) for p in panels} == {("VIEW_3D", "UI", "Talking Heads")}
    assert all(getattr(p, "bl_parent_id", "TALKINGHEADS_PT_main") == "TALKINGHEADS_PT_main" for p in panels)

    assert bpy.ops.talking_heads.add_reference(filepath=str(astronaut_png)) == {'FINISHED'}
    rig.talking_heads.frames = bpy.data.images.new("frames", 4, 4)  # as after Generate
    rig.talking_heads.frames.filepath = "//talking_heads/test rig/frame_0001.png"
    log = []
    for panel in panels:
        assert not hasattr(panel, "poll") or panel.poll(bpy.context)
        panel.draw(SimpleNamespace(layout=RecordingLayout(log)), bpy.context)
    drawn = [name for kind, name in log if kind == "operator"]
    for idname in ("talking_heads.add_reference", "talking_heads.build_rig", "talking_heads.import_track",
                   "talking_heads.keyframe_vertices", "talking_heads.finetune", "talking_heads.generate",
                   "talking_heads.export_video", "talking_heads.export_onnx"):
        assert idname in drawn
    assert drawn.index("talking_heads.build_rig") < drawn.index("talking_heads.finetune") < \
        drawn.index("talking_heads.generate") < drawn.index("talking_heads.export_video")
    assert ("prop", "preview") in log and ("prop", "finetune_preset") in log
    assert ("icon", 1) in log  # the active reference's thumbnail
    assert sum(1 for kind, name in log if kind == "prop" and name == "value") >= 9  # the expression sliders


def test_preferences_draw(addon):
    prefs = bpy.context.preferences.addons[addon.__name__].preferences
    log = []
    for python_path in ("", prefs.python_path):  # the managed environment (Install button), or a named Python
        drawn_as = SimpleNamespace(layout=RecordingLayout(log), bl_rna=prefs.bl_rna, python_path=python_path,
                                   device=prefs.device, install_log="Collecting torch", worker_info="")
        type(prefs).draw(drawn_as, bpy.context)
    assert ("prop", "python_path") in log and ("operator", "talking_heads.check_worker") in log
    assert ("operator", "talking_heads.install_worker") in log and ("label", "Collecting torch") in log


class FakeWindowManager:
    def __init__(self):
        self.progress, self.ended, self.timers = [], False, []

    def event_timer_add(self, seconds, window=None):
        self.timers.append(object())
        return self.timers[-1]

    def event_timer_remove(self, timer):
        self.timers.remove(timer)

    def progress_begin(self, low, high):
        self.progress.append("begin")

    def progress_update(self, value):
        self.progress.append(value)

    def progress_end(self):
        self.ended = True

    def modal_handler_add(self, operator):
        pass


class FakeWorkspace:
    def __init__(self):
        self.texts = []

    def status_text_set(self, text):
        self.texts.append(text)


@pytest.fixture
def modal_job(module, astronaut_png, addon):
    """A long operator (landmark detection in the worker) and a context a window would give it."""
    jobs = module("blender_addon.jobs")

    class Detect(jobs.WorkerJob):
        job_title = "Detect"

        def __init__(self):
            self.reports, self.result, self.cancelled = [], None, False

        def report(self, kind, message):
            self.reports.append((set(kind), message))

        def job_request(self, context):
            return {"job": "detect", "image": str(astronaut_png)}

        def job_finished(self, context, result):
            self.result = result

        def job_cancelled(self, context):
            self.cancelled = True

    context = SimpleNamespace(window_manager=FakeWindowManager(), workspace=FakeWorkspace(), window=object(),
                              preferences=bpy.context.preferences, scene=bpy.context.scene)
    yield Detect(), context, jobs
    jobs.stop_active_job()


def run_modal(operator, context, first_event=None):
    wm = context.window_manager
    events = [first_event] if first_event else []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        event = events.pop(0) if events else SimpleNamespace(type='TIMER', value='NOTHING', timer=wm.timers[0])
        state = operator.modal(context, event)
        if state != {'PASS_THROUGH'} and state != {'RUNNING_MODAL'}:
            return state
        time.sleep(0.05)
    raise AssertionError("the modal operator never finished")


def test_modal_job_shows_progress_and_finishes(modal_job):
    operator, context, jobs = modal_job
    assert operator.start_modal(context) == {'RUNNING_MODAL'}
    assert jobs.job_running()
    other = SimpleNamespace(type='MOUSEMOVE', value='NOTHING', timer=None)
    assert operator.modal(context, other) == {'PASS_THROUGH'}  # Blender stays usable meanwhile
    assert run_modal(operator, context) == {'FINISHED'}
    assert len(operator.result["points"]) == 68
    wm = context.window_manager
    fractions = [p for p in wm.progress if p != "begin"]
    assert fractions and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert wm.ended and not wm.timers and not jobs.job_running()
    assert any("Esc to cancel" in t for t in context.workspace.texts if t)
    assert any("left" in t for t in context.workspace.texts if t)
    assert context.workspace.texts[-1] is None  # the status bar is Blender's again


def test_escape_cancels_the_modal_job(modal_job):
    operator, context, jobs = modal_job
    assert operator.start_modal(context) == {'RUNNING_MODAL'}
    worker = jobs._ActiveJob.worker
    escape = SimpleNamespace(type='ESC', value='PRESS', timer=None)
    assert run_modal(operator, context, escape) == {'CANCELLED'}
    assert operator.cancelled and operator.result is None
    assert any("cancelled" in message for _, message in operator.reports)
    assert worker.process.wait(timeout=15) == 130 and not jobs.job_running()
    assert context.workspace.texts[-1] is None and context.window_manager.ended


def test_one_job_at_a_time(modal_job):
    operator, context, jobs = modal_job
    assert operator.start_modal(context) == {'RUNNING_MODAL'}
    second = type(operator)()
    assert second.start_modal(context) == {'CANCELLED'}
    assert "another" in second.reports[0][1]


def test_check_worker_shows_what_the_worker_python_has(addon):
    import torch

    prefs = bpy.context.preferences.addons[addon.__name__].preferences
    assert bpy.ops.talking_heads.check_worker() == {'FINISHED'}
    assert f"torch {torch.__version__}" in prefs.worker_info
