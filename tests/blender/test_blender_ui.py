"""What background mode cannot show: the sidebar's panels (drawn into a recording layout that checks every
property and operator they name) and the modal path of long operators (driven by fake timer and Esc
events): progress, status text with time left, Esc, and the clean-up."""
import subprocess
import time
from types import SimpleNamespace

import bpy
import numpy as np
import pytest

STEPS = ["1. Reference", "2. Rig", "3. Animation", "4. Model", "5. Head", "6. Generate", "7. Preview", "8. Export"]
ANIMATION_PARTS = ["Jaw", "Mouth", "Eyes", "Brows", "Cheeks and Nose", "Video or Track", "Lip Sync from Speech",
                   "iPhone Face Capture"]
# Margins in pixels at 1x, as measured in a real Blender 5.2 window (tests/gui/label_ruler.py keeps the figures)
SIDEBAR = 292        # the sidebar's default width
PANEL_MARGINS = 36   # the region's category tabs and the panel's borders
LABEL, ICON_LABEL = 16, 42                 # a label's padding, without and with an icon
PADDING, ICON, SLIDER_VALUE = 22, 16, 40   # a button's padding, its icon, a slider's "0.000"


def text_width(text: str) -> float:
    import blf

    blf.size(0, bpy.context.preferences.ui_styles[0].widget.points)
    return blf.dimensions(0, text)[0]


class RecordingLayout:
    """Stands in for `UILayout`: checks that drawn properties and operators exist, records labels, and lays
    the items out the way Blender does at the sidebar's default width (a row shares its width evenly, a split
    gives its first item `factor` of it, a split property its label 40 %), so a text that would be cut with
    "..." is found."""

    def __init__(self, log, width=SIDEBAR - PANEL_MARGINS, row=False, split=None):
        self.log, self.width, self.is_row, self.factor = log, width, row, split
        self.items = []      # (text, needed pixels)
        self.children = []
        self.use_property_split = False
        self.enabled = True
        self.alignment = 'EXPAND'

    def _child(self, **kwargs):
        child = RecordingLayout(self.log, self.width)
        child.use_property_split = self.use_property_split
        self.children.append(child)
        self.items.append((None, 0))
        return child

    column = box = grid_flow = _child

    def row(self, **kwargs):
        child = self._child()
        child.is_row = True
        return child

    def split(self, factor=0.5, **kwargs):
        child = self._child()
        child.is_row, child.factor = True, factor
        return child

    def _add(self, text, needed):
        self.items.append((text, needed))

    def prop(self, data, name, text=None, slider=False, index=-1, **kwargs):
        assert name in data.bl_rna.properties, f"{type(data).__name__} has no property {name!r}"
        self.log.append(("prop", name))
        rna = data.bl_rna.properties[name]
        label = rna.name if text is None else text
        if self.use_property_split:
            self._add(label, text_width(label) / 0.4 + PADDING)
        elif rna.type == 'BOOLEAN':
            self._add(label, text_width(label) + ICON + PADDING)
        elif rna.type in {'INT', 'FLOAT'}:
            self._add(label, text_width(f"{label}: 0.000") + PADDING + (SLIDER_VALUE if slider else 0))
        else:
            self._add(label, 0)   # a field with its label beside it: Blender shrinks the field first

    def operator(self, idname, text=None, icon='NONE', **kwargs):
        module, name = idname.split(".")
        rna = getattr(getattr(bpy.ops, module), name).get_rna_type()  # KeyError if there is no such operator
        self.log.append(("operator", idname))
        label = rna.name if text is None else text
        self._add(label, text_width(label) + PADDING + (ICON if icon != 'NONE' else 0))
        return OperatorProperties(rna)

    def label(self, text="", icon='NONE', **kwargs):
        self.log.append(("label", text))
        self._add(text, text_width(text) + (ICON_LABEL if icon != 'NONE' or "icon_value" in kwargs else LABEL))

    def progress(self, factor=0.0, text="", **kwargs):
        self.log.append(("progress", text))
        self._add(text, text_width(text) + PADDING)

    def separator(self, **kwargs):
        pass

    def template_list(self, *args, **kwargs):
        self.log.append(("list", args[0]))

    def template_icon(self, **kwargs):
        self.log.append(("icon", kwargs.get("icon_value")))

    def icon(self, data):
        assert isinstance(data, bpy.types.ID)
        return 1

    def too_narrow(self, width=None):
        """The texts that do not fit the width they are given: (text, needed, given)."""
        width = self.width if width is None else width
        found, shares = [], []
        if self.is_row and self.factor is not None and self.items:
            shares = [width * self.factor] + [width * (1 - self.factor) / max(1, len(self.items) - 1)] * \
                (len(self.items) - 1)
        else:
            shares = [width / max(1, len(self.items)) if self.is_row else width] * len(self.items)
        children = iter(self.children)
        for (text, needed), share in zip(self.items, shares):
            if text is None:
                found += next(children).too_narrow(share)
            elif needed > share:
                found.append((text, round(needed), round(share)))
        return found


class OperatorProperties:
    def __init__(self, rna):
        object.__setattr__(self, "rna", rna)

    def __setattr__(self, name, value):
        assert name in self.rna.properties, f"{self.rna.identifier} has no property {name!r}"


def draw_sidebar(module):
    """Every panel of the tab that polls true, drawn as at the default width: (log, texts cut off)."""
    log, narrow = [], []
    for panel in (c for c in module("blender_addon.panels").CLASSES if issubclass(c, bpy.types.Panel)):
        if hasattr(panel, "poll") and not panel.poll(bpy.context):
            continue
        layout = RecordingLayout(log)
        panel.draw(SimpleNamespace(layout=layout), bpy.context)
        narrow += [(panel.bl_label, *cut) for cut in layout.too_narrow()]
    return log, narrow


def test_sidebar_tab_panels_in_working_order(quick_rig, module, astronaut_png):
    rig, _ = quick_rig
    panels = [c for c in module("blender_addon.panels").CLASSES if issubclass(c, bpy.types.Panel)]
    assert {(p.bl_space_type, p.bl_region_type, p.bl_category) for p in panels} == {("VIEW_3D", "UI", "Talking Heads")}
    steps = [p.bl_label for p in panels if getattr(p, "bl_parent_id", "") == "TALKINGHEADS_PT_main"]
    assert steps == STEPS
    parts = [p.bl_label for p in panels if getattr(p, "bl_parent_id", "") == "TALKINGHEADS_PT_animation"]
    assert parts == ANIMATION_PARTS

    assert bpy.ops.talking_heads.add_reference(filepath=str(astronaut_png)) == {'FINISHED'}
    rig.talking_heads.frames = bpy.data.images.new("frames", 4, 4)  # as after Generate
    rig.talking_heads.frames.filepath = "//talking_heads/test rig/frame_0001.png"
    log, narrow = draw_sidebar(module)
    assert not narrow, f"cut off at the default sidebar width (panel, text, needs px, has px): {narrow}"
    drawn = [name for kind, name in log if kind == "operator"]
    for idname in ("talking_heads.add_reference", "talking_heads.build_rig", "talking_heads.import_track",
                   "talking_heads.import_audio", "talking_heads.import_arkit",
                   "talking_heads.keyframe_vertices", "talking_heads.finetune", "talking_heads.generate",
                   "talking_heads.export_video", "talking_heads.export_onnx"):
        assert idname in drawn
    assert drawn.index("talking_heads.build_rig") < drawn.index("talking_heads.finetune") < \
        drawn.index("talking_heads.generate") < drawn.index("talking_heads.export_video")
    assert ("prop", "preview") in log and ("prop", "finetune_preset") in log and ("prop", "show_rig") in log
    assert {("prop", "audio_source"), ("prop", "audio_transcript"), ("prop", "capture_source"),
            ("prop", "generate_alpha")} <= set(log)
    icons = [value for kind, value in log if kind == "icon"]
    assert icons and icons[0] == bpy.data.images["astronaut.png"].preview.icon_id  # our own thumbnail
    sliders = sum(1 for kind, name in log if kind == "prop" and name == "value")
    expressions = module("core.face.expressions").EXPRESSIONS
    assert sliders == len(expressions) + 1  # every expression, and the imported track's


def test_the_layout_check_finds_a_cut_label(quick_rig, module):
    """The width check itself: two sliders side by side (the old two-column grid, where a real window showed
    "jawOp..." and "mouth...") are found cut off; one a row fits."""
    layout = RecordingLayout([])
    grid = layout.row()
    keys = quick_rig[0].data.shape_keys.key_blocks
    grid.prop(keys["jawOpen"], "value", text="jawOpen", slider=True)
    grid.prop(keys["mouthSmileLeft"], "value", text="mouthSmileLeft", slider=True)
    assert [text for text, _, _ in layout.too_narrow()] == ["jawOpen", "mouthSmileLeft"]
    column = RecordingLayout([]).column()
    column.prop(keys["mouthSmileLeft"], "value", text="mouthSmileLeft", slider=True)
    assert not column.too_narrow()


def test_a_press_that_would_fail_is_explained_before_it(scene, module, quick_rig, tmp_path):
    """Unsaved file, no person model, no worker: the panels say so (the first thing to fix) above the button."""
    panels = module("blender_addon.panels")
    prefs = bpy.context.preferences.addons[module("blender_addon.preferences").ADDON_ID].preferences
    log, _ = draw_sidebar(module)
    labels = " ".join(text for kind, text in log if kind == "label")
    assert labels.count("Save the .blend first") == 4  # Fine-tune, Head from Photo, Generate, Export ONNX
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "saved.blend"))
    log, _ = draw_sidebar(module)
    labels = " ".join(text for kind, text in log if kind == "label")
    assert "Save the .blend" not in labels and labels.count("No person model yet") == 2
    before = prefs.python_path
    try:
        prefs.python_path = "/nonexistent/python"
        assert "does not exist" in panels.worker_problem(bpy.context)
        log, _ = draw_sidebar(module)
        assert any("does not exist" in text for kind, text in log if kind == "label")
    finally:
        prefs.python_path = before
    assert panels.worker_problem(bpy.context) is None


def test_the_rig_can_be_hidden_and_still_drives(quick_rig, module):
    rig, _ = quick_rig
    driver = module("blender_addon.driver")
    shown = driver.rig_pixels(bpy.context, rig, range(0, 1))
    rig.talking_heads.show_rig = False
    assert rig.hide_get() and not rig.talking_heads.show_rig
    assert np.allclose(driver.rig_pixels(bpy.context, rig, range(0, 1)), shown)
    rig.talking_heads.show_rig = True
    assert not rig.hide_get()


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


def test_install_runs_the_worker_with_blenders_own_python(addon, module, tmp_path):
    """The environment with torch is what the install job makes: Blender's Python runs it, as any other job."""
    import sys

    operators, worker_jobs = module("blender_addon.operators.worker"), module("app.worker_jobs")
    prefs = bpy.context.preferences.addons[addon.__name__].preferences
    before = (prefs.install_source, prefs.wheelhouse)
    started = []

    class Recorder:
        def __init__(self, command, request, **kwargs):
            started.append((command, request))

    try:
        prefs.install_source, prefs.wheelhouse = 'WHEELHOUSE', str(tmp_path)
        operator = operators.TALKINGHEADS_OT_install_worker
        request = operator.job_request(None, bpy.context)
        assert isinstance(request, worker_jobs.InstallJob) and request.wheelhouse == str(tmp_path)
        assert request.requirements.endswith("worker_requirements.txt") and request.torch in ("cpu", "cuda")
        original = operators.WorkerProcess
        operators.WorkerProcess = Recorder
        try:
            operator.job_process(None, bpy.context, request)
        finally:
            operators.WorkerProcess = original
        (command, sent), = started
        assert command[0] == sys.executable and command[1:4] == ["-m", "core", "worker"] and sent is request
    finally:
        prefs.install_source, prefs.wheelhouse = before


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
        self.timers = []

    def event_timer_add(self, seconds, window=None):
        self.timers.append(object())
        return self.timers[-1]

    def event_timer_remove(self, timer):
        self.timers.remove(timer)

    def modal_handler_add(self, operator):
        pass


class Event:
    """A window event with exactly the fields `bpy.types.Event` has: reading any other fails, as in Blender
    (where the modal once read `event.timer` and every long job died on its first tick)."""

    def __init__(self, type, value='NOTHING', **fields):
        fields.update(type=type, value=value)
        for name in ("ctrl", "shift", "alt", "oskey"):
            fields.setdefault(name, False)
        unknown = set(fields) - set(bpy.types.Event.bl_rna.properties.keys())
        assert not unknown, f"bpy.types.Event has no {unknown}"
        self.__dict__.update(fields)

    def __getattr__(self, name):
        raise AttributeError(f"'Event' object has no attribute {name!r}")


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
            return module("app.worker_jobs").DetectJob(image=str(astronaut_png))

        def job_finished(self, context, result):
            self.result = result

        def job_cancelled(self, context):
            self.cancelled = True

    context = SimpleNamespace(window_manager=FakeWindowManager(), window=object(),
                              preferences=bpy.context.preferences, scene=bpy.context.scene)
    yield Detect(), context, jobs
    jobs.stop_active_job()


def run_modal(operator, context, jobs, first_event=None, seen=None):
    """Feed the modal operator timer ticks until it ends; `seen` collects the progress bar's summaries."""
    events = [first_event] if first_event else []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        event = events.pop(0) if events else Event('TIMER')
        state = operator.modal(context, event)
        if seen is not None and jobs.job_running():
            seen.append((jobs.ActiveJob.fraction, jobs.ActiveJob.summary(), jobs.ActiveJob.stage))
        if state != {'PASS_THROUGH'} and state != {'RUNNING_MODAL'}:
            return state
        time.sleep(0.05)
    raise AssertionError("the modal operator never finished")


def test_modal_job_shows_progress_and_finishes(modal_job, monkeypatch):
    operator, context, jobs = modal_job
    assert operator.start_modal(context) == {'RUNNING_MODAL'}
    assert jobs.job_running()
    assert operator.modal(context, Event('MOUSEMOVE')) == {'PASS_THROUGH'}  # Blender stays usable meanwhile
    seen = []
    shown = operator._step

    def step(context, event, worker):  # what the progress bar holds after each tick that had progress
        before = len(seen)
        state = shown(context, event, worker)
        if jobs.job_running() and jobs.ActiveJob.stage != "starting the worker" and before == len(seen):
            seen.append((jobs.ActiveJob.fraction, jobs.ActiveJob.summary(), jobs.ActiveJob.stage))
        return state

    def event(context, e):  # every progress event, as it arrives (a fast job may end in the same tick)
        if isinstance(e, module_protocol(jobs).Progress):
            seen.append((e.done / max(e.total, 1), None, e.message))

    monkeypatch.setattr(operator, "_step", step)
    monkeypatch.setattr(operator, "job_event", event)
    assert run_modal(operator, context, jobs) == {'FINISHED'}
    assert len(operator.result.points) == 68
    fractions = [fraction for fraction, _, _ in seen]
    assert fractions and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(stage.startswith("landmarks: ") for _, _, stage in seen)
    summaries = [summary for _, summary, _ in seen if summary]
    assert all(s.startswith("Detect ") and s.count("left") == 1 for s in summaries)  # one estimate, never two
    assert not context.window_manager.timers and not jobs.job_running() and not jobs.ActiveJob.title
    jobs.ActiveJob.title, jobs.ActiveJob.fraction, jobs.ActiveJob.left = "Fine-tune", 0.33, 108.0
    try:  # the status bar of the report said "108 s left  33%, about 2 min left": now one estimate
        assert jobs.ActiveJob.summary() == "Fine-tune 33%, about 2 min left"
    finally:
        jobs.ActiveJob.title, jobs.ActiveJob.fraction, jobs.ActiveJob.left = "", 0.0, None


def module_protocol(jobs):
    import importlib

    return importlib.import_module(jobs.__name__.rpartition(".")[0].rpartition(".")[0] + ".app.protocol")


def test_escape_cancels_the_modal_job(modal_job):
    operator, context, jobs = modal_job
    assert operator.start_modal(context) == {'RUNNING_MODAL'}
    worker = jobs.ActiveJob.worker
    assert run_modal(operator, context, jobs, Event('ESC', 'PRESS')) == {'CANCELLED'}
    assert operator.cancelled and operator.result is None
    assert any("cancelled" in message for _, message in operator.reports)
    assert worker.process.wait(timeout=15) == 130 and not jobs.job_running()
    assert not context.window_manager.timers


def test_the_cancel_button_cancels_the_modal_job(modal_job):
    operator, context, jobs = modal_job
    assert operator.start_modal(context) == {'RUNNING_MODAL'}
    assert bpy.ops.talking_heads.cancel_job.poll()
    assert bpy.ops.talking_heads.cancel_job() == {'FINISHED'}
    assert not bpy.ops.talking_heads.cancel_job.poll()  # once is enough: it now says "cancelling"
    assert jobs.ActiveJob.summary() == "Detect: cancelling"
    assert run_modal(operator, context, jobs) == {'CANCELLED'} and operator.cancelled
    assert not jobs.job_running()


def test_a_bug_in_the_modal_step_ends_the_job_and_the_next_one_runs(modal_job, monkeypatch):
    """Whatever breaks inside the modal tick (here job_event raising), the job ends with a one-line report,
    its worker is stopped, and the next job starts."""
    operator, context, jobs = modal_job
    assert operator.start_modal(context) == {'RUNNING_MODAL'}
    worker = jobs.ActiveJob.worker

    def broken(context, event):
        raise KeyError("a bug")

    monkeypatch.setattr(operator, "job_event", broken)
    assert run_modal(operator, context, jobs) == {'CANCELLED'}
    (kind, message), = operator.reports
    assert kind == {'ERROR'} and "internal error (KeyError" in message and "\n" not in message
    assert worker.process.poll() is not None and not jobs.job_running() and not context.window_manager.timers
    following = type(operator)()
    assert following.start_modal(context) == {'RUNNING_MODAL'}
    assert run_modal(following, context, jobs) == {'FINISHED'} and len(following.result.points) == 68


def test_opening_a_file_ends_the_running_job(modal_job, scene):
    operator, context, jobs = modal_job
    assert operator.start_modal(context) == {'RUNNING_MODAL'}
    worker = jobs.ActiveJob.worker
    bpy.ops.wm.read_homefile(use_factory_startup=True)
    assert not jobs.job_running() and worker.process.poll() is not None
    assert operator.modal(context, Event('TIMER')) == {'CANCELLED'}


def test_undo_keys_are_swallowed_while_a_job_runs(modal_job):
    """Ctrl+Z under a running job would undo scene data the job is about to write into: the modal operator
    takes it (with a note) instead of passing it on; other keys pass through."""
    operator, context, jobs = modal_job
    assert operator.start_modal(context) == {'RUNNING_MODAL'}
    assert operator.modal(context, Event('Z', 'PRESS', ctrl=True)) == {'RUNNING_MODAL'}
    assert operator.modal(context, Event('Z', 'PRESS', ctrl=True, shift=True)) == {'RUNNING_MODAL'}
    assert operator.modal(context, Event('Z', 'PRESS')) == {'PASS_THROUGH'}
    assert any("undo once it has finished" in message for _, message in operator.reports)
    assert run_modal(operator, context, jobs) == {'FINISHED'}


def test_operators_that_change_scene_data_register_for_undo(module):
    """The long ones with 'UNDO' alone: Blender's redo panel ('REGISTER') would run the whole job again."""
    operators = module("blender_addon.operators")

    def operator(name):
        return next(c for c in operators.CLASSES if c.__name__ == f"TALKINGHEADS_OT_{name}")

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
    assert "Detect is running" in second.reports[0][1]


def test_check_worker_shows_what_the_worker_python_has(addon, worker_python):
    torch = subprocess.run([worker_python, "-c", "import torch; print(torch.__version__)"], capture_output=True,
                           text=True, check=True).stdout.strip()   # the worker's, which Blender's may lack
    prefs = bpy.context.preferences.addons[addon.__name__].preferences
    assert bpy.ops.talking_heads.check_worker() == {'FINISHED'}
    assert f"torch {torch}" in prefs.worker_info
