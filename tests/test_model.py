"""The model: warp, networks, losses, files, fine-tuning (small inputs, CPU)."""
import numpy as np
import pytest
import torch

from talking_heads.core.errors import UserError
from talking_heads.core.model.discriminator import Discriminator
from talking_heads.core.model.embedder import Embedder
from talking_heads.core.model.files import load_tensors, save_tensors
from talking_heads.core.model.generator import Generator
from talking_heads.core.model.losses import ContentLoss, feature_matching, hinge_d, hinge_g, ssim
from talking_heads.core.model.mean_face import MEAN_FACE_CROP
from talking_heads.core.model.warp import border_points, head_region, warp_image

torch.set_num_threads(2)


def face(size=128, jitter=0.0, seed=0):
    rng = np.random.default_rng(seed)
    pts = MEAN_FACE_CROP * size / 256 + rng.normal(0, jitter, (68, 2))
    return torch.tensor(pts, dtype=torch.float32)[None]


def test_warp_matches_piecewise_affine_baseline():
    from skimage import data
    from skimage.transform import PiecewiseAffineTransform, warp

    size = 128
    image = data.astronaut()[::4, ::4] / 255.0
    ref, drv = face(size), face(size)
    drv[0, 48:68, 1] += 4     # open the mouth, lower the lips
    drv[0, :, 0] += 2         # and shift the face
    t = PiecewiseAffineTransform()
    b = border_points(size)
    t.estimate(np.vstack([drv[0].numpy(), b]), np.vstack([ref[0].numpy(), b]))
    expected = warp(image, t, output_shape=(size, size), mode="edge")
    x = torch.tensor(image, dtype=torch.float32).permute(2, 0, 1)[None]
    ours = warp_image(x, ref, drv, grid_size=size)[0].permute(1, 2, 0).numpy()
    assert np.abs(ours - expected).mean() < 0.005
    identity = warp_image(x, ref, ref)[0].permute(1, 2, 0).numpy()
    assert np.abs(identity - image).max() < 5e-3


def test_networks_shapes_and_generator_starts_at_warp():
    size = 64
    g, e, d = Generator(), Embedder(), Discriminator(num_videos=3)
    refs = torch.rand(2, 3, 3, size, size)
    draws = torch.rand(2, 3, 3, size, size)
    emb = e(refs, draws)
    assert emb.shape == (2, 256)
    pts = face(size).expand(2, -1, -1)
    out = g(refs[:, 0], pts, pts, draws[:, 0], embedding=emb)
    assert out["image"].shape == (2, 3, size, size)
    # the warp's weight ~ 0.96 at initialisation: the output is (almost) the warped reference
    assert (out["image"] - out["warped"]).abs().mean() < 0.03
    assert torch.allclose(out["weights"].sum(1), torch.ones(2, size, size), atol=1e-5)
    score, feats = d(out["image"], draws[:, 0], torch.tensor([0, 2]))
    assert score.shape == (2,) and len(feats) == 5


def test_generator_composes_its_three_sources():
    size = 64
    g = Generator().eval()
    ref = torch.rand(1, 3, size, size)
    pts = face(size)
    moved = pts + torch.tensor([4.0, -3.0])
    moved[0, 65:68, 1] += 4                          # the driver opens the mouth
    draw, psi = torch.zeros(1, 3, size, size), g.P(torch.zeros(1, 256))
    heads = torch.maximum(head_region(moved, size), head_region(pts, size))
    at = lambda w, i: w[0, 0, int(moved[0, i, 1].round()), int(moved[0, i, 0].round())].item()
    for source, key in ((3, "warped"), (4, "reference"), (5, "colour")):
        with torch.no_grad():
            g.head.bias.zero_()
            g.head.bias[source] = 30.0                 # all weight on one source
            out = g(ref, pts, moved, draw, psi=psi)
        w = out["weights"][:, source - 3:source - 2]
        if key == "warped":
            assert (out["image"] - out["warped"]).abs().max() < 1e-5
        elif key == "reference":   # only where no head is or was: there the warp takes over
            away = heads == 0
            assert away.float().mean() > 0.2
            assert (out["image"] - ref).abs().amax(1, keepdim=True)[away].max() < 1e-5
            assert w[heads == 1].max() < 1e-6
        else:   # new colours off the head and in the opened mouth, never over eyes or nose
            assert w[0, 0, 0, 0] > 0.999 and at(w, 66) > 0.999
            assert max(at(w, i) for i in (37, 44, 28, 29, 30)) < 1e-6
    assert (out["warped"] - ref).abs().mean() > 0.01   # the warp really moved the face


def test_rule_set_2_paints_lids_only_once_the_eyes_are_more_than_half_closed():
    """New colours over the lids need the driver's eyes well closed beyond the photo's: a glance down keeps
    the photo's own lids; a blink gets painted ones; at the photo's own landmarks nothing is painted."""
    size = 256                                         # the network's own size: the lids' region is grown at it
    g = Generator(rules=2).eval()
    ref, pts = torch.rand(1, 3, size, size), face(size)
    draw, psi = torch.zeros(1, 3, size, size), g.P(torch.zeros(1, 256))
    with torch.no_grad():
        g.head.bias.zero_()
        g.head.bias[5] = 30.0                          # all the weight the rules allow on new colours

    def lid_weight(closed):
        drv = pts.clone()
        for upper, lower in ((37, 41), (38, 40), (43, 47), (44, 46)):
            gap = drv[0, lower, 1] - drv[0, upper, 1]
            drv[0, upper, 1] += closed * gap / 2
            drv[0, lower, 1] -= closed * gap / 2
        with torch.no_grad():
            w = g(ref, pts, drv, draw, psi=psi)["weights"][0, 2]
        centres = [drv[0, [37, 38, 40, 41]].mean(0), drv[0, [43, 44, 46, 47]].mean(0)]
        return min(w[int(c[1].round()), int(c[0].round())].item() for c in centres)

    assert lid_weight(0.0) < 1e-6 and lid_weight(0.4) < 1e-6
    assert 0.2 < lid_weight(0.6) < 0.8
    assert lid_weight(0.8) > 0.99


def test_losses_behave():
    a = torch.rand(2, 3, 32, 32)
    assert ssim(a, a).item() == pytest.approx(1.0, abs=1e-4)
    assert ssim(a, torch.rand_like(a)).item() < 0.2
    content = ContentLoss(perceptual=False)
    assert content.offline
    same = content(a, a)
    assert same["l1"].item() == 0 and same["ssim"].item() == pytest.approx(0, abs=1e-4)
    assert hinge_d(torch.tensor([2.0]), torch.tensor([-2.0])).item() == 0
    assert hinge_d(torch.tensor([0.0]), torch.tensor([0.0])).item() == 2
    assert hinge_g(torch.tensor([3.0])).item() == -3
    f = [torch.ones(1, 2, 4, 4)]
    assert feature_matching(f, f).item() == 0


def test_a_few_steps_lower_the_loss_on_a_tiny_set():
    torch.manual_seed(0)
    size = 64
    g = Generator()
    target = torch.rand(1, 3, size, size)
    ref = target.roll(2, -1)
    pts = face(size)
    draw = torch.zeros(1, 3, size, size)
    psi = torch.nn.Parameter(g.P(torch.zeros(1, 256)).detach())
    opt = torch.optim.Adam(list(g.parameters()) + [psi], lr=3e-3)
    content = ContentLoss(perceptual=False)
    losses = []
    for _ in range(25):
        loss = sum(content(g(ref, pts, pts, draw, psi=psi)["image"], target).values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.85 * losses[0]


def test_tensor_files_round_trip_and_refuse_bad_files(tmp_path):
    path = tmp_path / "m.safetensors"
    save_tensors(path, {"w": torch.arange(6.0)}, {"format": "kind", "version": 1})
    tensors, header = load_tensors(path, "kind", 1)
    assert torch.equal(tensors["w"], torch.arange(6.0)) and header["version"] == 1
    with pytest.raises(UserError, match="version 1, this release reads version 2"):
        load_tensors(path, "kind", 2)
    with pytest.raises(UserError, match="not a other file"):
        load_tensors(path, "other", 1)
    truncated = tmp_path / "t.safetensors"
    truncated.write_bytes(path.read_bytes()[:40])
    with pytest.raises(UserError, match="truncated"):
        load_tensors(truncated, "kind", 1)
    pickled = tmp_path / "p.safetensors"
    torch.save({"w": torch.zeros(1)}, pickled)
    with pytest.raises(UserError, match="pickle"):
        load_tensors(pickled, "kind", 1)
    assert not list(tmp_path.glob("*.tmp"))


class _PaintsEverything(torch.nn.Module):
    """A crop renderer whose network puts grey new colours everywhere: what the native renderer does with the
    network's part, apart from the network."""

    def parts(self, landmarks):
        n = landmarks.shape[0]
        weights = torch.zeros(n, 3, 64, 64)
        weights[:, 2] = 1
        return {"weights": weights, "colour": torch.full((n, 3, 64, 64), 0.5)}


def test_towards_the_box_edge_the_frame_fades_to_the_warp_which_meets_the_photo():
    from talking_heads.core.landmarks.align import feather_mask
    from talking_heads.core.model.native import FEATHER, NativeRenderer
    from talking_heads.core.model.warp import warp_image

    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    points = MEAN_FACE_CROP.astype(np.float32) / 2 + 64                   # a face in the middle of the box
    box = (0.0, 0.0, 256.0)
    renderer = NativeRenderer(_PaintsEverything(), photo, points, box)
    moved = points + np.float32([60, 0])                                  # the head moves towards an edge
    with torch.no_grad():
        frame = renderer(torch.from_numpy(moved)[None])[0]
        image = torch.from_numpy(photo).permute(2, 0, 1)[None].float() / 255
        warped = warp_image(image, torch.from_numpy(points)[None], torch.from_numpy(moved)[None],
                            grid_size=renderer.grid_size)[0]
    feather = torch.from_numpy(feather_mask(256, FEATHER))
    assert torch.allclose(frame, feather * 0.5 + (1 - feather) * warped, atol=1e-4)
    # at the edge the warp is the photo (its border points pin it), so the frame meets the photo there
    assert torch.allclose(frame[:, :, -1], image[0, :, :, -1], atol=2e-3)
    # and in the fading band, the moved head, not the photo's face where it was
    band = (feather > 0.05) & (feather < 0.95)
    assert (warped - image[0]).abs()[:, band].mean() > 0.05
