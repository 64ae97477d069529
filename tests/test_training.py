"""Meta-learning and fine-tuning on tiny inputs the tests make (CPU): checkpoints, resume, DDP, persons."""
import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from talking_heads.core.errors import UserError
from talking_heads.core.presets import DEFAULT_PRESET, FAST, PRESETS, preset_named
from talking_heads.core.training.config import TrainConfig

TINY = TrainConfig(size=64, batch=2, shots=2, steps=2, checkpoint_every=1, log_every=1, bf16=False)


def test_meta_train_checkpoints_and_resumes(videos, tmp_path):
    from talking_heads.core.training.meta import load_checkpoint, train

    out = tmp_path / "prior"
    folder, _ = train(str(videos), str(out), TINY, device="cpu", resume=False)
    assert folder.name == "step_0000002" and (out / "latest").read_text() == "step_0000002"
    assert sorted(p.name for p in out.iterdir()) == ["latest", "step_0000002"]   # older steps pruned
    folder, nets = train(str(videos), str(out), TINY.replace(steps=3), device="cpu")
    states, header = load_checkpoint(out)
    assert header["step"] == 3 and states["optimizers"] is not None
    for k, v in nets.generator.state_dict().items():
        assert torch.equal(states["generator"][k], v)
    # a half-written step (killed mid-save) is ignored: `latest` still names the last whole one
    (out / "step_0000004.tmp").mkdir()
    assert load_checkpoint(out)[1]["step"] == 3


def _ddp_rank(rank, world, port, videos, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from safetensors.torch import save_file

    from talking_heads.core.training.meta import train

    _, nets = train(videos, out, TINY, device="cpu", resume=False)
    save_file({k: v.contiguous() for k, v in nets.state_dict().items()}, os.path.join(out, f"rank{rank}.safetensors"))


def test_two_process_ddp_step_keeps_ranks_identical(videos, tmp_path):
    from safetensors.torch import load_file

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_rank, args=(2, port, str(videos), str(tmp_path)), nprocs=2, join=True)
    a, b = load_file(tmp_path / "rank0.safetensors"), load_file(tmp_path / "rank1.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6), k
    assert (tmp_path / "latest").exists()


def test_fit_person_round_trip_and_render(astronaut, tmp_path):
    from talking_heads.core.landmarks.detect import detect_landmarks
    from talking_heads.core.model.person import load_person
    from talking_heads.core.training.finetune import fit_person

    points = detect_landmarks(astronaut, backend="dlib").points
    person = fit_person([astronaut], [points], preset=FAST, device="cpu", steps=2, size=256)
    path = tmp_path / "person.safetensors"
    person.save(path)
    again = load_person(path)
    crops = again.render_crops(points[None].repeat(2, 0))
    assert crops.shape == (2, 256, 256, 3) and crops.dtype == np.uint8
    frames = again.render_frames(points[None])
    assert frames.shape == (1, *astronaut.shape)
    # the file renders what the person in memory rendered (weights are stored in float16)
    assert np.abs(crops[0].astype(float) - person.render_crops(points[None])[0]).mean() < 1.0
    assert again.config["preset"] == FAST.name                # the file names its preset by name

def test_presets_are_found_by_name_and_an_unknown_name_is_refused():
    assert [preset_named(p.name) for p in PRESETS] == list(PRESETS) and DEFAULT_PRESET in PRESETS
    with pytest.raises(UserError, match="unknown preset"):
        preset_named("slow")


def test_mouth_painter_trains_checkpoints_under_16_mb_and_resumes(videos, tmp_path, monkeypatch):
    from talking_heads.core.model.painter import load_painter
    from talking_heads.core.training import painter
    from talking_heads.core.training.config import MouthConfig

    monkeypatch.setattr(painter, "OPEN", -1.0)     # the clips' mouths barely move: score their widest anyway
    clips = sorted(videos.iterdir())
    clips = [c for c in clips if c.suffix == ".avi"]
    tiny = MouthConfig(batch=4, videos_per_step=2, steps=2, val_every=1, checkpoint_every=1, log_every=1,
                       bf16=False)
    out = tmp_path / "mouth"
    best = painter.train("mouth", str(videos), str(out), tiny, clips[:1], clips[1:], device="cpu")
    assert best["step"] in (1, 2) and best["warp"] > 0 and best["painter"] > 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["adam_m.safetensors", "adam_v.safetensors", "best.safetensors", "held_out.json",
                     "painter.safetensors"]
    assert all((out / n).stat().st_size < 16e6 for n in names)     # each travels back from a lent GPU
    _, header = load_painter(out / "painter.safetensors", "mouth")
    assert header["step"] == 2
    painter.train("mouth", str(videos), str(out), tiny.replace(steps=3), clips[:1], clips[1:], device="cpu")
    resumed, header = load_painter(out / "painter.safetensors", "mouth")
    assert header["step"] == 3
    shipped, best_header = load_painter(out / "best.safetensors", "mouth")
    assert best_header["held_out"]["painter"] <= best["painter"]


def test_train_mouth_refuses_lists_that_name_missing_videos(videos, tmp_path):
    import argparse

    from talking_heads.app.commands import train_mouth

    listing = tmp_path / "train.txt"
    listing.write_text("clip0.avi\nnot_there.mp4\n")
    args = argparse.Namespace(data=str(videos), videos=str(listing), val=str(listing), out=str(tmp_path / "m"),
                              minutes=0.0, steps=1, config=None, device="cpu")
    with pytest.raises(UserError, match="not_there.mp4"):
        train_mouth.run(args)
    args.videos = str(tmp_path / "absent.txt")
    with pytest.raises(UserError, match="does not exist"):
        train_mouth.run(args)
    assert not (tmp_path / "m").exists()                 # nothing written
