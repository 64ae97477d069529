"""iPhone face capture in Blender: a Live Link Face CSV (its real header and column names, made here) keys the
rig's ARKit shape keys and head rotation at the scene's rate from the current frame; the keys the rig lacks
are listed once; a malformed file is one line and changes nothing."""
import math

import bpy
import pytest

from talking_heads.core.capture.live_link import ARKIT_NAMES

from live_link_takes import take as live_link_take  # noqa: E402  (tests/live_link_takes.py)


def take(frames: int = 61, fps: int = 60) -> str:
    """1 s at 60 fps: jawOpen ramps 0 -> 1, eyeBlinkLeft is 0.5, mouthClose 0.25, the head turns 0.1."""
    return live_link_take(frames, fps, MouthClose=0.25, TongueOut=0.3)


def fcurve(module, id_data, path, index=0):
    return module("blender_addon.keyframes").find_fcurve(id_data, path, index)


def test_a_live_link_face_take_keys_the_rig(quick_rig, module, tmp_path):
    rig, _ = quick_rig
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 24, 1.0
    keys = rig.data.shape_keys
    blink = keys.key_blocks["eyeBlinkLeft"]
    blink.value = 1.0
    blink.keyframe_insert("value", frame=2)     # hand-keyed before the take: stays
    path = tmp_path / "MySlate_7_iPhone.csv"
    path.write_text(take(), encoding="utf-8")
    scene.frame_set(10)
    assert bpy.ops.talking_heads.import_arkit(filepath=str(path), capture_fps=60) == {'FINISHED'}

    jaw = fcurve(module, keys, 'key_blocks["jawOpen"].value')
    assert [k.co[0] for k in jaw.keyframe_points] == list(range(10, 35))      # 1 s at 24 fps from frame 10
    assert all(k.interpolation == 'LINEAR' for k in jaw.keyframe_points)
    scene.frame_set(22)                      # half a second in
    assert keys.key_blocks["jawOpen"].value == pytest.approx(0.5, abs=1e-3)
    assert keys.key_blocks["mouthClose"].value == pytest.approx(0.25, abs=1e-3)
    assert rig.rotation_euler[1] == pytest.approx(-0.1 * math.pi, abs=1e-4)   # turned (yaw)
    assert rig.rotation_euler[0] == pytest.approx(0.025 * math.pi, abs=1e-3)  # nodded (pitch)
    assert rig.rotation_euler[2] == pytest.approx(0.0, abs=1e-6)
    blink_keys = [k.co[0] for k in fcurve(module, keys, 'key_blocks["eyeBlinkLeft"].value').keyframe_points]
    assert blink_keys == [2] + list(range(10, 35))
    assert scene.frame_end >= 34
    # every key of the capture the rig has, and nothing for those it lacks
    for name in ARKIT_NAMES:
        curve = fcurve(module, keys, f'key_blocks["{name}"].value')
        assert (curve is not None) == (name in keys.key_blocks), name


def test_the_keys_the_rig_lacks_are_listed_once(quick_rig, module, tmp_path):
    rig, _ = quick_rig
    path = tmp_path / "take.csv"
    path.write_text(take(10), encoding="utf-8")
    operators = module("blender_addon.operators.animation")
    reports = []
    # The operator's report, read through a stand-in `self` (bpy.ops keeps INFO reports to itself).
    stand_in = type("Op", (), {"filepath": str(path), "capture_fps": 60.0, "frame_start": 1, "head": False,
                               "report": lambda self, kind, text: reports.append((kind, text))})()
    assert operators.TALKINGHEADS_OT_import_arkit.execute(stand_in, bpy.context) == {'FINISHED'}
    (kind, text), = reports
    assert kind == {'INFO'} and "\n" not in text
    assert "the rig lacks 9 of its keys" in text and text.count("tongueOut") == 1 and "eyeLookUpLeft" in text
    assert "keyed 43 ARKit keys of" in text
    assert rig.animation_data is None    # head=False: the rotation is not keyed


@pytest.mark.parametrize("mutate", [
    lambda t: t.replace("Timecode,", "Time,", 1),
    lambda t: t.replace("0.500000", "abc", 1),
    lambda t: t.splitlines()[0] + "\n",
])
def test_a_malformed_capture_is_one_line_and_changes_nothing(quick_rig, tmp_path, mutate):
    rig, _ = quick_rig
    path = tmp_path / "broken.csv"
    path.write_text(mutate(take(10)), encoding="utf-8")
    end = bpy.context.scene.frame_end
    with pytest.raises(RuntimeError) as caught:
        bpy.ops.talking_heads.import_arkit(filepath=str(path))
    message = str(caught.value).strip()
    assert message.startswith("Error: ") and "\n" not in message and "Traceback" not in message
    assert rig.data.shape_keys.animation_data is None and rig.animation_data is None
    assert bpy.context.scene.frame_end == end


def test_the_capture_survives_save_and_reopen(quick_rig, tmp_path):
    rig, _ = quick_rig
    path = tmp_path / "take.csv"
    path.write_text(take(), encoding="utf-8")
    bpy.context.scene.frame_set(1)
    assert bpy.ops.talking_heads.import_arkit(filepath=str(path)) == {'FINISHED'}
    blend = tmp_path / "capture.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.read_homefile(use_factory_startup=True)
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    rig = bpy.context.scene.talking_heads.rig
    bpy.context.scene.frame_set(1 + 24)     # 1 s in (the rate inferred: 60 fps; the scene's: 24)
    assert rig.data.shape_keys.key_blocks["jawOpen"].value == pytest.approx(1.0, abs=1e-3)
    assert rig.rotation_euler[1] == pytest.approx(-0.1 * math.pi, abs=1e-4)


def test_an_import_is_one_undo_step(quick_rig, tmp_path):
    """Called with undo=True (as a button does), the import is one step: undo takes all of it back."""
    path = tmp_path / "take.csv"
    path.write_text(take(), encoding="utf-8")
    bpy.ops.ed.undo_push(message="before the import")
    assert bpy.ops.talking_heads.import_arkit('EXEC_DEFAULT', True, filepath=str(path)) == {'FINISHED'}
    bpy.context.scene.frame_end = 999          # a later edit, its own step
    bpy.ops.ed.undo_push(message="a later edit")
    bpy.ops.ed.undo()                          # back to just after the import: it pushed its own step
    rig = bpy.context.scene.talking_heads.rig   # undo rebuilt the data: look the rig up again
    assert bpy.context.scene.frame_end != 999
    assert rig.data.shape_keys.animation_data.action is not None and rig.animation_data is not None
    bpy.ops.ed.undo()                          # and before it: all of it is gone
    rig = bpy.context.scene.talking_heads.rig
    assert rig.data.shape_keys.animation_data is None and rig.animation_data is None
