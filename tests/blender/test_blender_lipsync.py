"""Lip sync from a sound file in Blender: the worker turns the speech into expression curves; the operator keys
the rig's mouth at the scene's rate from the current frame (hand-keyed blinks and head motion stay) and adds
the sound as a strip at the same frame, scrubbing on; all of it survives save and reopen.

The speech is made here: spoken by espeak-ng where it is installed, else a synthetic vowel (a glottal pulse
train through formant resonators, as tests/test_lipsync.py makes it; core.lipsync refuses silence)."""
import shutil
import subprocess
from pathlib import Path

import bpy
import numpy as np
import pytest

from speech import RATE, vowels, write_wav


@pytest.fixture(scope="module", params=["espeak-ng", "synthetic"])
def speech(request, tmp_path_factory) -> tuple[Path, str | None]:
    """(a WAV of speech, its transcript or None): words spoken by espeak-ng (skipped where it is not
    installed), or synthetic vowels."""
    folder = tmp_path_factory.mktemp("speech")
    if request.param == "synthetic":
        return write_wav(folder / "vowels.wav", vowels()), None
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    path = folder / "papa.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "110", "-w", str(path), "papa mama papa"], check=True,
                   capture_output=True)
    return path, "papa mama papa"


def fcurve(module, keys, name):
    return module("blender_addon.keyframes").find_fcurve(keys, f'key_blocks["{name}"].value')


def sound_strips(scene):
    editor = scene.sequence_editor
    return list(editor.strips if hasattr(editor, "strips") else editor.sequences) if editor else []


def test_speech_keys_the_mouth_and_adds_the_sound(quick_rig, module, speech, tmp_path):
    from talking_heads.core.lipsync.audio import load_audio
    from talking_heads.core.lipsync.visemes import KEYS

    rig, _ = quick_rig
    path, transcript = speech
    scene = bpy.context.scene
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "talk.blend"))   # the curves go beside the .blend
    rig = scene.talking_heads.rig
    keys = rig.data.shape_keys
    # hand-keyed work that must stay: a blink, a turn, and a jawOpen key long after the speech
    keys.key_blocks["eyeBlinkLeft"].value = 1.0
    keys.key_blocks["eyeBlinkLeft"].keyframe_insert("value", frame=12)
    rig.rotation_euler[1] = 0.2
    rig.keyframe_insert("rotation_euler", index=1, frame=15)
    keys.key_blocks["jawOpen"].value = 0.8
    keys.key_blocks["jawOpen"].keyframe_insert("value", frame=400)
    scene.frame_set(7)

    options = {"transcript": transcript} if transcript else {}
    assert bpy.ops.talking_heads.import_audio(filepath=str(path), **options) == {'FINISHED'}

    fps = scene.render.fps / scene.render.fps_base
    duration = load_audio(path).duration
    frames = int(np.ceil(duration * fps))
    jaw = fcurve(module, keys, "jawOpen")
    keyed = [k.co[0] for k in jaw.keyframe_points]
    assert keyed[0] == 7 and keyed[-1] == 400 and abs(len(keyed) - 1 - frames) <= 1   # from the current frame
    for name in KEYS:
        assert fcurve(module, keys, name) is not None, name                            # every mouth key
    values = np.array([k.co[1] for k in jaw.keyframe_points][:-1])
    assert values.max() > 0.15 and values.min() < 0.05                                 # it talks, and pauses
    # the hand-keyed blink and turn are untouched
    blink = fcurve(module, keys, "eyeBlinkLeft")
    assert [(k.co[0], k.co[1]) for k in blink.keyframe_points] == [(12, 1.0)]
    assert rig.animation_data.action is not None and rig.rotation_euler[1] == pytest.approx(0.2)
    # the sound, at the same frame, scrubbing on
    (strip,) = sound_strips(scene)
    assert strip.type == 'SOUND' and strip.frame_start == 7
    assert bpy.path.abspath(strip.sound.filepath) == str(path) or Path(bpy.path.abspath(strip.sound.filepath)).resolve() == path.resolve()
    assert scene.use_audio_scrub and scene.sync_mode == 'AUDIO_SYNC'
    assert scene.frame_end >= 7 + frames - 1

    # a second import of the same file replaces its strip
    assert bpy.ops.talking_heads.import_audio(filepath=str(path), frame_start=3, **options) == {'FINISHED'}
    (strip,) = sound_strips(scene)
    assert strip.frame_start == 3

    blend = bpy.data.filepath
    bpy.ops.wm.save_mainfile()
    bpy.ops.wm.read_homefile(use_factory_startup=True)
    bpy.ops.wm.open_mainfile(filepath=blend)
    scene = bpy.context.scene
    (strip,) = sound_strips(scene)
    assert strip.type == 'SOUND' and strip.frame_start == 3 and strip.sound is not None
    assert Path(bpy.path.abspath(strip.sound.filepath)).resolve() == path.resolve()
    assert scene.use_audio_scrub
    keys = scene.talking_heads.rig.data.shape_keys
    peak = 3 + int(np.argmax(values))
    scene.frame_set(peak)
    assert keys.key_blocks["jawOpen"].value == pytest.approx(values.max(), abs=0.02)


def test_a_silent_file_is_one_line(quick_rig, tmp_path):
    path = write_wav(tmp_path / "silence.wav", np.zeros(RATE, np.float32))
    with pytest.raises(RuntimeError) as caught:
        bpy.ops.talking_heads.import_audio(filepath=str(path))
    message = str(caught.value).strip()
    assert message.startswith("Error: ") and "\n" not in message and "silent" in message
    rig, _ = quick_rig
    assert rig.data.shape_keys.animation_data is None and not sound_strips(bpy.context.scene)


def test_a_missing_file_is_reported_before_the_worker_starts(quick_rig, tmp_path):
    with pytest.raises(RuntimeError, match="no such file"):
        bpy.ops.talking_heads.import_audio(filepath=str(tmp_path / "nothing.wav"))


def test_a_lip_sync_is_one_undo_step(quick_rig, tmp_path):
    path = write_wav(tmp_path / "ah.wav", vowels())
    bpy.ops.ed.undo_push(message="before the lip sync")
    assert bpy.ops.talking_heads.import_audio('EXEC_DEFAULT', True, filepath=str(path)) == {'FINISHED'}
    bpy.context.scene.frame_end = 999          # a later edit, its own step
    bpy.ops.ed.undo_push(message="a later edit")
    bpy.ops.ed.undo()                          # back to just after the lip sync: it pushed its own step
    rig = bpy.context.scene.talking_heads.rig
    assert bpy.context.scene.frame_end != 999
    assert rig.data.shape_keys.animation_data.action is not None and sound_strips(bpy.context.scene)
    bpy.ops.ed.undo()                          # and before it: keys and sound are gone
    rig = bpy.context.scene.talking_heads.rig
    assert rig.data.shape_keys.animation_data is None and not sound_strips(bpy.context.scene)
