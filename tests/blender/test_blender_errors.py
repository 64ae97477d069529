"""What the artist can get wrong is reported in one line (the operator is cancelled), never as a traceback."""
import os
import signal
import threading
import time

import bpy
import pytest


def one_line_error(call) -> str:
    """Run an operator that must fail; bpy raises its ERROR report as a RuntimeError."""
    with pytest.raises(RuntimeError) as caught:
        call()
    message = str(caught.value).strip()
    assert message.startswith("Error: ")
    assert "\n" not in message and "Traceback" not in message
    return message


def test_no_camera(scene, astronaut_png):
    bpy.data.objects.remove(scene.camera)
    assert "camera" in one_line_error(lambda: bpy.ops.talking_heads.build_rig(filepath=str(astronaut_png)))
    assert not any(o.talking_heads.is_rig for o in bpy.data.objects)


def test_no_reference(scene):
    message = one_line_error(lambda: bpy.ops.talking_heads.build_rig())
    assert "reference photo" in message


def test_reference_that_is_not_there(scene, tmp_path):
    message = one_line_error(lambda: bpy.ops.talking_heads.build_rig(filepath=str(tmp_path / "missing.png")))
    assert "no such file" in message


def test_photo_without_a_face(scene, tmp_path):
    from PIL import Image

    path = tmp_path / "grey.png"
    Image.new("RGB", (256, 256), (128, 128, 128)).save(path)
    assert "no face" in one_line_error(lambda: bpy.ops.talking_heads.build_rig(filepath=str(path)))


def test_mesh_without_68_vertices(scene):
    cube = bpy.data.objects["Cube"]
    cube.talking_heads.is_rig = True
    scene.talking_heads.rig = cube
    message = one_line_error(lambda: bpy.ops.talking_heads.generate())
    assert "8 vertices" in message and "68" in message


def test_unsaved_blend(quick_rig):
    assert not bpy.data.filepath
    message = one_line_error(lambda: bpy.ops.talking_heads.generate())
    assert "save the .blend" in message
    assert "save the .blend" in one_line_error(lambda: bpy.ops.talking_heads.finetune())


def test_generate_needs_a_person_model(rigged):
    assert "Fine-tune" in one_line_error(lambda: bpy.ops.talking_heads.generate())


def test_rig_out_of_the_cameras_view(rigged, tmp_path):
    rigged.talking_heads.person_model = str(tmp_path / "person.safetensors")
    (tmp_path / "person.safetensors").write_bytes(b"placeholder: generation must stop before using it")
    rigged.location = bpy.context.scene.camera.location + (bpy.context.scene.camera.location - rigged.location)
    assert "behind the camera" in one_line_error(lambda: bpy.ops.talking_heads.generate())


def test_worker_without_python(scene, addon, astronaut_png, tmp_path, worker_python):
    preferences = bpy.context.preferences.addons[addon.__name__].preferences
    preferences.python_path = str(tmp_path / "no-python")
    try:
        message = one_line_error(lambda: bpy.ops.talking_heads.build_rig(filepath=str(astronaut_png)))
    finally:
        preferences.python_path = worker_python
    assert "preferences" in message


def test_killed_worker_is_an_error_and_no_orphan(scene, module, astronaut_png):
    client = module("blender_addon.worker_client")
    earlier = set(client.running())  # workers of earlier tests may still be exiting
    killed = []

    def kill_the_worker():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            for worker in set(client.running()) - earlier:
                os.kill(worker.process.pid, signal.SIGKILL)
                killed.append(worker)
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_worker)
    killer.start()
    message = one_line_error(lambda: bpy.ops.talking_heads.build_rig(filepath=str(astronaut_png)))
    killer.join()
    assert killed and "killed" in message
    assert killed[0].process.poll() is not None  # reaped: no zombie, no orphan
    assert killed[0] not in client.running()
