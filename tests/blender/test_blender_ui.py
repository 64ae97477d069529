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
                   "talking_heads.import_audio", "talking_heads.import_arkit",
                   "talking_heads.keyframe_vertices", "talking_heads.finetune", "talking_heads.generate",
                   "talking_heads.export_video", "talking_heads.export_onnx"):
        assert idname in drawn
    assert drawn.index("talking_heads.build_rig") < drawn.index("talking_heads.finetune") < \
        drawn.index("talking_heads.generate") < drawn.index("talking_heads.export_video")
    assert ("prop", "preview") in log and ("prop", "finetune_preset") in log
    assert {("prop", "audio_source"), ("prop", "audio_transcript"), ("prop", "capture_source"),
            ("prop", "generate_alpha")} <= set(log)
    assert ("icon", 1) in log  # the active reference's thumbnail
    assert sum(1 for kind, name in log if kind == "prop" and name == "value") >= 9  # the expression sliders


def draw_preferences(prefs, **values) -> list:
    """What the preferences' draw() lays out, for the preference values given (the rest as they are)."""
    log = []
    names = ("python_path", "device", "install_source", "wheelhouse", "torch_build", "c2pa_key", "c2pa_cert",
             "install_log", "worker_info")
    drawn_as = SimpleNamespace(layout=RecordingLayout(log), bl_rna=prefs.bl_rna,
                               **{name: values.get(name, getattr(prefs, name)) for name in names})
    type(prefs).draw(drawn_as, bpy.context)
    return log


def test_preferences_draw(addon):
    prefs = bpy.context.preferences.addons[addon.__name__].preferences
    log = draw_preferences(prefs, python_path="", install_log="Collecting torch")   # the managed environment
    log += draw_preferences(prefs)                                                     # a named Python
    assert ("prop", "python_path") in log and ("operator", "talking_heads.check_worker") in log
    assert ("operator", "talking_heads.install_worker") in log and ("label", "Collecting torch") in log
    assert {("prop", "install_source"), ("prop", "torch_build"), ("prop", "c2pa_key"), ("prop", "c2pa_cert")} <= set(log)
    labels = [text for kind, text in log if kind == "label"]
    assert any(t.startswith("Torch build: ") and "NVIDIA driver" in t or "macOS" in t for t in labels)
    assert any("local identity" in t for t in labels)


def test_preferences_say_where_the_environment_comes_from(addon, tmp_path):
    """The offline install: a folder of wheels, and a line saying it is used, how many wheels it holds and
    which torch; from the registries, a line that says online access is needed when it is off."""
    prefs = bpy.context.preferences.addons[addon.__name__].preferences
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name in ("torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl", "numpy-1.26.4-cp311-cp311-linux_x86_64.whl"):
        (wheels / name).write_bytes(b"")
    log = draw_preferences(prefs, python_path="", install_source='WHEELHOUSE', wheelhouse=str(wheels))
    labels = [text for kind, text in log if kind == "label"]
    assert ("prop", "wheelhouse") in log
    assert f"Installs offline from {wheels} (pip --no-index): 2 wheels, torch 2.13.0+cpu" in labels
    system = bpy.context.preferences.system
    before = system.use_online_access
    try:
        system.use_online_access = False
        log = draw_preferences(prefs, python_path="", install_source='REGISTRIES')
        assert ("prop", "wheelhouse") not in log
        assert any("online access is off" in text for kind, text in log if kind == "label")
        system.use_online_access = True
        log = draw_preferences(prefs, python_path="", install_source='REGISTRIES')
        assert ("label", "Installs from PyPI and PyTorch's index (online)") in log
    finally:
        system.use_online_access = before


def test_install_offline_needs_a_folder_and_registries_need_online_access(addon, tmp_path):
    prefs = bpy.context.preferences.addons[addon.__name__].preferences
    system = bpy.context.preferences.system
    before = (prefs.install_source, prefs.wheelhouse, system.use_online_access)
    try:
        system.use_online_access = False
        prefs.install_source = 'REGISTRIES'
        with pytest.raises(RuntimeError, match="online access is off.*folder of wheels"):
            bpy.ops.talking_heads.install_worker()
        prefs.install_source, prefs.wheelhouse = 'WHEELHOUSE', str(tmp_path / "missing")
        with pytest.raises(RuntimeError, match="does not exist"):
            bpy.ops.talking_heads.install_worker()
    finally:
        prefs.install_source, prefs.wheelhouse, system.use_online_access = before


def test_the_install_command_line(module, tmp_path):
    operators = module("blender_addon.operators")
    request = operators.InstallRequest("ENV", "REQ", str(tmp_path), "cuda")
    command = operators.install_command(request)
    assert command[1].endswith("environment.py") and command[2:] == ["ENV", "REQ", "--torch", "cuda",
                                                                      "--wheelhouse", str(tmp_path)]
    assert "--wheelhouse" not in operators.install_command(operators.InstallRequest("ENV", "REQ"))


def test_c2pa_identity_needs_both_files(addon, module, tmp_path):
    preferences = module("blender_addon.preferences")
    prefs = preferences.preferences()
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    key.write_text("key")
    cert.write_text("cert")
    try:
        assert preferences.c2pa_identity() == (None, None)       # empty: the local identity
        prefs.c2pa_key = str(key)
        with pytest.raises(module("core.errors").UserError, match="both"):
            preferences.c2pa_identity()
        prefs.c2pa_cert = str(cert)
        assert preferences.c2pa_identity() == (str(key), str(cert))
        prefs.c2pa_cert = str(tmp_path / "gone.pem")
        with pytest.raises(module("core.errors").UserError, match="does not exist"):
            preferences.c2pa_identity()
    finally:
        prefs.c2pa_key = prefs.c2pa_cert = ""


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
            return module("app.protocol").DetectJob(image=str(astronaut_png))

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
    assert len(operator.result.points) == 68
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


def test_undo_keys_are_swallowed_while_a_job_runs(modal_job):
    """Ctrl+Z under a running job would undo scene data the job is about to write into: the modal operator
    takes it (with a note) instead of passing it on; other keys pass through."""
    operator, context, jobs = modal_job
    assert operator.start_modal(context) == {'RUNNING_MODAL'}
    undo = SimpleNamespace(type='Z', value='PRESS', ctrl=True, oskey=False, shift=False, timer=None)
    redo = SimpleNamespace(type='Z', value='PRESS', ctrl=True, oskey=False, shift=True, timer=None)
    plain_z = SimpleNamespace(type='Z', value='PRESS', ctrl=False, oskey=False, shift=False, timer=None)
    assert operator.modal(context, undo) == {'RUNNING_MODAL'}
    assert operator.modal(context, redo) == {'RUNNING_MODAL'}
    assert operator.modal(context, plain_z) == {'PASS_THROUGH'}
    assert any("undo once it has finished" in message for _, message in operator.reports)
    assert run_modal(operator, context) == {'FINISHED'}


def test_operators_that_change_scene_data_register_for_undo(module):
    """The long ones with 'UNDO' alone: Blender's redo panel ('REGISTER') would run the whole job again."""
    operators = module("blender_addon.operators")

    def operator(name):
        return getattr(operators, f"TALKINGHEADS_OT_{name}")

    for name in ("build_rig", "import_track", "import_audio", "finetune", "generate", "export_onnx"):
        assert operator(name).bl_options == {'UNDO'}, name
    for name in ("import_arkit", "reset_expressions", "keyframe_vertices", "add_reference"):
        assert 'UNDO' in operator(name).bl_options, name
    for name in ("export_video", "install_worker", "check_worker"):   # no scene data: their description says so
        assert 'UNDO' not in operator(name).bl_options and "undo" in operator(name).__doc__, name


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
