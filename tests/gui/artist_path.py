"""The artist's path through the add-on, in a real Blender window (tests/gui/run.sh runs it: `make test-gui`).

The README's "In Blender" steps, at the sidebar's default width: install the zip, check the worker, add a
photo, build the rig, key expressions, fine-tune (cancelled with Esc, then to the end), generate, undo it
with Ctrl+Z, generate again, the live preview, export ONNX and video; then bad input. Buttons are pressed in
the sidebar's context with INVOKE_DEFAULT, so every long job runs its `modal` as a click would; Esc, Ctrl+Z
and the arrow keys are real key presses. Each step ends with a numbered screenshot in the output folder, and
every panel's labels are measured against the sidebar's width (label_ruler). The viewport is in Solid mode
with texture colour: the plane's image shows without compiling EEVEE's shaders in software.

Arguments (after Blender's `--`): --zip, --python (the worker's), --work (a folder for the .blend files; it
holds astronaut.png and not_a_photo.png), --out (the screenshots).
"""
import argparse
import glob
import hashlib
import importlib
import os
import sys

import bpy
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as gui  # noqa: E402
from harness import check, invoke, press, until  # noqa: E402
from label_ruler import LabelRuler  # noqa: E402

parser = argparse.ArgumentParser(prog="artist_path.py")
for option in ("--zip", "--python", "--work", "--out"):
    parser.add_argument(option, required=True)
ARGS = parser.parse_args(sys.argv[sys.argv.index("--") + 1:])

MODULE = "bl_ext.user_default.talking_heads"
TAB = "Talking Heads"
MAIN_PANEL = "Talking Heads"  # the tab's top panel: the rig, a running job's progress box
PORTRAIT = os.path.join(ARGS.work, "astronaut.png")
NOT_A_PHOTO = os.path.join(ARGS.work, "not_a_photo.png")
BLEND = os.path.join(ARGS.work, "project", "artist.blend")
SECOND_BLEND = os.path.join(ARGS.work, "second", "second.blend")
JOB_SECONDS = 300  # the longest job here (the ONNX export on 2 CPU cores) takes well under this

# Before the window exists: no splash screen over the first screenshots.
bpy.context.preferences.view.show_splash = False


def addon(name: str):
    """One of the installed add-on's modules ("blender_addon.jobs")."""
    return importlib.import_module(f"{MODULE}.{name}")


def job_running() -> bool:
    return addon("blender_addon.jobs").job_running()


def job_done() -> until:
    return until(lambda: not job_running(), "the job to end", JOB_SECONDS)


def start_job(idname: str, **properties) -> None:
    result, error = invoke(idname, **properties)
    check(result == {'RUNNING_MODAL'}, f"{idname} did not start as a modal job: {sorted(result)} {error}")


def settings():
    return bpy.context.scene.talking_heads


def rig():
    return settings().rig


def rig_folder() -> str:
    return os.path.join(os.path.dirname(bpy.data.filepath), "talking_heads", bpy.path.clean_name(rig().name))


def reported(lines: list[str], text: str) -> bool:
    return any(text in line for line in lines)


def preview_pixels(name: str) -> str:
    """A fingerprint of an image's pixels."""
    image = bpy.data.images[name]
    pixels = np.empty(len(image.pixels), dtype=np.float32)
    image.pixels.foreach_get(pixels)
    return hashlib.sha1(pixels.tobytes()).hexdigest()


def set_up_viewport(tab: bool):
    """What an artist does first in a new file: Solid mode with texture colour, the sidebar open (N) at its
    default width, and (`tab`) the add-on's tab picked. A generator."""
    view = gui.area_of('VIEW_3D').spaces.active
    view.shading.type, view.shading.color_type = 'SOLID', 'TEXTURE'
    view.show_region_ui = True
    yield gui.redrawn("the sidebar to list its tabs")  # a tab exists once its panels have drawn
    if tab:
        gui.region_of(gui.area_of('VIEW_3D'), 'UI').active_panel_category = TAB


class Steps:
    def __init__(self):
        self.shots, self.reports, self.ruler = gui.Screenshots(ARGS.out), gui.Reports(), None

    def shot(self, name: str, sidebar_end: bool = False):
        """A screenshot, and every panel measured as the scene is now. A generator."""
        yield from self.shots.take(name, sidebar_end)
        if self.ruler is not None:
            with bpy.context.temp_override(**gui.sidebar_context()):
                self.ruler.measure_all(bpy.context)

    def run(self):
        yield until(lambda: gui.area_of('VIEW_3D').width > 100, "Blender's window", 120)
        yield from set_up_viewport(tab=False)
        yield from self.shot("startup")
        yield from self.install()
        yield from self.reference_and_rig()
        yield from self.animate()
        yield from self.finetune()
        yield from self.head()
        yield from self.generate()
        yield from self.preview_and_export()
        yield from self.bad_input()
        overflows = self.ruler.overflows()
        check(not overflows, "labels wider than the sidebar gives them:\n  " + "\n  ".join(overflows))

    def install(self):
        """Install from Disk; the worker's Python in the add-on's preferences; Check Worker; save."""
        result = bpy.ops.extensions.package_install_files(filepath=ARGS.zip, repo="user_default",
                                                          enable_on_install=True)
        check(result == {'FINISHED'} and MODULE in bpy.context.preferences.addons, f"installing {ARGS.zip}: {result}")
        bpy.context.preferences.use_preferences_save = False
        self.ruler = LabelRuler(addon("blender_addon.panels"))
        yield from set_up_viewport(tab=True)
        problem = addon("blender_addon.preview").unavailable_reason()
        check(problem is None, f"the live preview is unavailable: {problem}")
        prefs = bpy.context.preferences.addons[MODULE].preferences
        prefs.python_path = ARGS.python
        bpy.ops.preferences.addon_show(module=MODULE)
        start_job("talking_heads.check_worker")
        yield job_done()
        check("torch" in prefs.worker_info, f"Check Worker showed {prefs.worker_info!r}")
        yield from self.shot("check-worker")
        preferences_window = next(w for w in bpy.context.window_manager.windows if w != gui.main_window())
        with bpy.context.temp_override(window=preferences_window):
            bpy.ops.wm.window_close()
        os.makedirs(os.path.dirname(BLEND))
        bpy.ops.wm.save_as_mainfile(filepath=BLEND)
        yield from self.shot("saved")

    def reference_and_rig(self):
        """1. Reference (the + button's file browser); 2. Rig: every expression key starts at 0."""
        result, error = invoke("talking_heads.add_reference")
        check(result == {'RUNNING_MODAL'}, f"Add Reference opened no file browser: {sorted(result)} {error}")
        yield from gui.choose_file(PORTRAIT)
        yield until(lambda: len(settings().references) == 1, "the photo in the reference list", 10)
        yield from self.shot("reference")
        start_job("talking_heads.build_rig")
        yield from self.shot("build-rig-running")
        yield job_done()
        check(rig() is not None, "Build Rig made no rig")
        lines = yield from self.reports.new()
        check(reported(lines, "built"), f"Build Rig reported {lines}")
        expressions = addon("core.face.expressions").EXPRESSIONS
        blocks = rig().data.shape_keys.key_blocks
        check(set(expressions) <= set(blocks.keys()), f"expression keys missing: {set(expressions) - set(blocks.keys())}")
        moved = {name: blocks[name].value for name in expressions if blocks[name].value != 0.0}
        check(not moved, f"expression shape keys that do not start at 0.0: {moved}")
        with bpy.context.temp_override(**gui.sidebar_context()):
            bpy.ops.view3d.view_camera()  # Numpad 0: the plane fills the camera's view
        yield from self.shot("rig")

    def animate(self):
        """3. Animation: expressions keyed over frames 1-3 (what I over a slider does)."""
        blocks = rig().data.shape_keys.key_blocks
        poses = {1: {}, 2: {"jawOpen": 0.8}, 3: {"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0, "eyeBlinkLeft": 1.0}}
        for frame, pose in poses.items():
            for name in ("jawOpen", "mouthSmileLeft", "mouthSmileRight", "eyeBlinkLeft"):
                blocks[name].value = pose.get(name, 0.0)
                blocks[name].keyframe_insert("value", frame=frame)
        bpy.context.scene.frame_start, bpy.context.scene.frame_end = 1, 3
        bpy.context.scene.frame_set(2)
        yield from self.shot("keyed")

    def finetune(self):
        """4. Model: Esc in the middle of a fine-tune (cancelled, no person model, nothing half-written), then
        one to the end."""
        settings().finetune_preset = 'fast'
        start_job("talking_heads.finetune")
        # The tab's progress box shows the worker's stage: Esc once it says that training has begun.
        yield until(lambda: any(text.startswith("fine-tune: step") for text, _ in self.ruler.labels(MAIN_PANEL)),
                    "the Talking Heads panel to show fine-tuning's first step", JOB_SECONDS)
        yield from self.shot("finetune-running")
        press("Escape")
        yield job_done()
        lines = yield from self.reports.new()
        check(reported(lines, "Fine-tune: cancelled"), f"Esc during Fine-tune reported {lines}")
        check(not rig().talking_heads.person_model, f"a cancelled fine-tune set {rig().talking_heads.person_model}")
        left = glob.glob(os.path.join(rig_folder(), "person*"))
        check(not left, f"a cancelled fine-tune left {left}")
        yield from self.shot("finetune-cancelled", sidebar_end=True)
        settings().finetune_preset = 'instant'
        start_job("talking_heads.finetune")
        yield job_done()
        person = bpy.path.abspath(rig().talking_heads.person_model)
        check(os.path.isfile(person), f"Fine-tune to the end wrote no person model ({person!r})")
        yield from self.shot("finetuned", sidebar_end=True)

    def head(self):
        """5. Head: the sample head, Fit to Head as a modal job, the fit shown in the panel."""
        result, error = invoke("talking_heads.add_sample_head")
        check(result == {'FINISHED'}, f"Add Sample Head: {sorted(result)} {error}")
        head = rig().talking_heads.head
        check(head is not None and head.data.shape_keys is not None, "Add Sample Head made no head with shape keys")
        rig().talking_heads.head_uv_size = '1024'
        start_job("talking_heads.fit_head")
        yield job_done()
        lines = yield from self.reports.new()
        check(reported(lines, "fitted"), f"Fit to Head reported {lines}")
        check(head.talking_heads.head_fit and rig().talking_heads.head_overlay is not None,
              "Fit to Head left no fit on the head or no overlay in the panel")
        yield from self.shot("head-fitted", sidebar_end=True)

    def generate(self):
        """6. Generate frames 1-3 (baked onto the head too); Ctrl+Z takes them off the plane (and undoes nothing before); again."""
        frames = [os.path.join(rig_folder(), f"frame_{n:04d}.png") for n in (1, 2, 3)]
        start_job("talking_heads.generate")
        yield job_done()
        check(all(map(os.path.isfile, frames)), f"Generate wrote {sorted(os.listdir(rig_folder()))}")
        check(rig().talking_heads.frames is not None, "Generate put no frames on the rig")
        yield from self.shot("generated", sidebar_end=True)
        press("ctrl+z")
        yield until(lambda: rig().talking_heads.frames is None, "Ctrl+Z to take the frames off the plane", 30)
        check(rig().talking_heads.person_model, "Ctrl+Z undid the fine-tune too")
        check(rig().data.shape_keys.animation_data is not None, "Ctrl+Z undid the keyframes too")
        yield from self.shot("undone", sidebar_end=True)
        start_job("talking_heads.generate")
        yield job_done()
        check(rig().talking_heads.frames is not None, "Generate after Ctrl+Z put no frames on the rig")
        yield from self.shot("generated-again", sidebar_end=True)

    def preview_and_export(self):
        """7. Preview: without the ONNX export it says why; 8. Export ONNX, then each frame change renders;
        Export Video."""
        settings().preview = True
        press("Right")
        yield until(lambda: bpy.context.scene.frame_current == 3, "Right arrow to go to frame 3", 10)
        yield from self.shot("preview-without-model", sidebar_end=True)
        check(self.ruler.error_labels("7. Preview"), "the Preview panel says nothing though there is no ONNX model")
        start_job("talking_heads.export_onnx")
        yield job_done()
        onnx = os.path.join(rig_folder(), "person.onnx")
        check(os.path.isfile(onnx) and settings().preview_model, f"Export ONNX wrote no {onnx}")
        seen = []
        for frame in (2, 1):
            press("Left")
            yield until(lambda: bpy.context.scene.frame_current == frame, f"Left arrow to go to frame {frame}", 10)
            name = f"{rig().name} preview"
            yield until(lambda: name in bpy.data.images and preview_pixels(name) not in seen,
                        f"the preview of frame {frame}", 60)
            seen.append(preview_pixels(name))
            yield from self.shot(f"preview-frame-{frame}", sidebar_end=True)
            problems = self.ruler.error_labels("7. Preview")
            check(not problems, f"the Preview panel shows {problems}")
        start_job("talking_heads.export_video")
        yield job_done()
        videos = glob.glob(os.path.join(rig_folder(), "*.mp4"))
        check(videos, f"Export Video wrote {sorted(os.listdir(rig_folder()))}")
        yield from self.shot("exported", sidebar_end=True)

    def bad_input(self):
        """A file that is not a photo; a long job on an unsaved file: one line each, never a traceback, and the
        next job runs."""
        yield from self.reports.new()
        invoke("talking_heads.add_reference")
        yield from gui.choose_file(NOT_A_PHOTO)
        lines = yield from self.reports.new()
        check(len(lines) == 1 and "image" in lines[0], f"a file that is not a photo reported {lines}")
        check(len(settings().references) == 1, "a file that is not a photo went into the reference list")
        yield from self.shot("not-a-photo")

        drawn = gui.draw_count()
        bpy.ops.wm.read_homefile(app_template="")  # File > New > General
        # The old window's screen is gone: touch nothing of the UI before the new one has drawn.
        yield until(lambda: gui.draw_count() > drawn, "the new file's window", 30)
        yield from set_up_viewport(tab=True)
        result, error = invoke("talking_heads.add_reference", filepath=PORTRAIT)
        check(result == {'FINISHED'}, f"Add Reference with a photo named: {sorted(result)} {error}")
        start_job("talking_heads.build_rig")
        yield job_done()
        check(rig() is not None, "Build Rig in an unsaved file made no rig")
        result, error = invoke("talking_heads.finetune")
        check(result == {'CANCELLED'} and "\n" not in error.strip() and "save" in error.lower(),
              f"Fine-tune in an unsaved file: {sorted(result)} {error!r}")
        check(not job_running(), "a refused job left a job running")
        yield from self.shot("unsaved", sidebar_end=True)

        os.makedirs(os.path.dirname(SECOND_BLEND))
        bpy.ops.wm.save_as_mainfile(filepath=SECOND_BLEND)
        settings().finetune_preset = 'instant'
        start_job("talking_heads.finetune")
        yield job_done()
        check(os.path.isfile(bpy.path.abspath(rig().talking_heads.person_model)), "the next job did not finish")
        yield from self.shot("ready-again", sidebar_end=True)


gui.play.failure_screenshot = os.path.join(ARGS.out, "failed.png")
gui.play(Steps().run())
