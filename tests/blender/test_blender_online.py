"""Blender's "Allow Online Access" reaches the worker with every job, and with it off nothing touches the
network: a person model fine-tunes and frames generate while the worker's socket layer is guarded (every
name lookup or connection fails and is written down); the guard's record stays empty."""
import bpy
import pytest


@pytest.fixture
def guard(monkeypatch, tmp_path):
    """The file the workers' socket guard writes each network attempt to (TALKING_HEADS_SOCKET_GUARD)."""
    record = tmp_path / "network_attempts.txt"
    monkeypatch.setenv("TALKING_HEADS_SOCKET_GUARD", str(record))
    return record


@pytest.fixture
def online_access():
    """Sets Blender's "Allow Online Access" (the bpy module starts with it off), and restores it after."""
    system = bpy.context.preferences.system
    before = system.use_online_access

    def set_to(flag: bool):
        system.use_online_access = flag
        assert bpy.app.online_access is flag

    yield set_to
    system.use_online_access = before


@pytest.mark.slow
def test_with_online_access_off_finetune_and_generate_make_no_network_attempt(rigged, guard, online_access,
                                                                              astronaut_png, fan_weights_cached):
    online_access(False)
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, 2
    scene.talking_heads.finetune_steps = 1
    assert bpy.ops.talking_heads.finetune() == {'FINISHED'}
    assert bpy.ops.talking_heads.generate() == {'FINISHED'}
    assert rigged.talking_heads.frames is not None
    assert not guard.exists(), guard.read_text()

    # The control: with online access on, the same workers do try the network (face-alignment's weights,
    # where they are not cached), and the guard sees it.
    if not fan_weights_cached:
        online_access(True)
        assert bpy.ops.talking_heads.build_rig(filepath=str(astronaut_png)) == {'FINISHED'}
        assert guard.is_file() and guard.read_text().strip()


def test_every_job_carries_the_setting(scene, module, online_access, monkeypatch):
    """`jobs.start_worker` stamps each request with bpy.app.online_access before it is sent."""
    jobs = module("blender_addon.jobs")
    protocol, worker_jobs = module("app.protocol"), module("app.worker_jobs")
    sent = []
    monkeypatch.setattr(jobs, "WorkerProcess", lambda command, request, **kw: sent.append(request))
    for flag in (False, True):
        online_access(flag)
        jobs.start_worker(bpy.context, worker_jobs.InfoJob())
    assert [r.online for r in sent] == [False, True]
    assert protocol.Job.from_json(sent[0].to_json()).online is False
