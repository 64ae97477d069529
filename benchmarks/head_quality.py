"""Issue 25's quality figures for the talking face on a 3D head, rendered in Blender (the bpy module, Cycles,
emission shaders: no lighting), and the contact sheet of renders.

    .venv/bin/python benchmarks/head_quality.py [--portraits 5] [--out out/head_quality]

1. **Round trip** (Head from Photo): the photo itself on the head built from it (mixed over grey by the head's
   per-vertex photo weight, as the add-on's material does), rendered from the photo's camera, against the
   photo: PSNR over the landmark hull, per portrait.
2. **Placement** on the shipped ICT-FaceKit head (its shape is not the photo's person's and stays as it is):
   the photo fitted and baked onto the head, rendered from the front and turned 25 degrees; dlib's 68
   landmarks detected on each render against where the mesh's landmark vertices project: NME (mean distance
   over the outer eye corners' distance).
3. **Locality**: frames of a person model (fine-tuned once on the first portrait, `fast`) with the rig's
   `jawOpen` 0 and 1 (and both blinks 0 and 1), baked on the ICT head, rendered turned 30 degrees: the share of
   the change between the two renders (sum of absolute differences) inside the mouth's box (the projected lip
   and lower-jaw landmark vertices, both states, widened by a tenth of the face's width), or the eyes' boxes.
4. **Contact sheet** (`OUT/contact_sheet.png`, not committed: it shows real people): the ICT head front, 25
   and 45 degrees, mouth closed and open; and the Head from Photo head at the same angles.

Uses ../shared/media/portraits (never committed); prints a table, writes the renders to OUT.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from core.__main__ import project_package  # noqa: E402  (the project folder as `talking_heads`)

project_package()
PORTRAITS = ROOT.parent / "shared" / "media" / "portraits"

import bpy  # noqa: E402
from mathutils import Matrix  # noqa: E402

from talking_heads.core.colour import srgb_to_linear  # noqa: E402
from talking_heads.core.head.bake import bake_frame  # noqa: E402
from talking_heads.core.head.fit import fit_head  # noqa: E402
from talking_heads.core.head.from_photo import default_focal, fade_colour, head_from_photo  # noqa: E402
from talking_heads.core.head.mesh import sample_head  # noqa: E402
from talking_heads.core.images import load_image, write_png  # noqa: E402
from talking_heads.core.landmarks.detect import detect_landmarks  # noqa: E402
from talking_heads.core.metrics import psnr  # noqa: E402
from talking_heads.core.model.person import load_person  # noqa: E402
from talking_heads.core.presets import preset_named  # noqa: E402
from talking_heads.core.track.expression import expression_track  # noqa: E402
from talking_heads.core.training.finetune import finetune  # noqa: E402

RENDER_SIDE = 768
MOUTH = list(range(48, 68)) + [5, 6, 7, 8, 9, 10, 11]
RIGHT_EYE, LEFT_EYE = list(range(36, 42)), list(range(42, 48))
HIDDEN_MATERIALS = ("EyeOcclusion", "LacrimalFluid", "EyeBlend")   # ICT's see-through overlays
FIXED_COLOURS = {"Sclera": (0.85, 0.83, 0.80), "Iris": (0.25, 0.18, 0.12), "Teeth": (0.9, 0.88, 0.8),
                 "GumsTongue": (0.55, 0.2, 0.2), "EyeLashes": (0.08, 0.06, 0.05)}


# --- Blender: one textured mesh, one camera, emission only ------------------------------------------------------

def reset_scene() -> None:
    bpy.ops.wm.read_homefile(use_factory_startup=True)
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    scene = bpy.context.scene
    scene.render.engine = 'CYCLES'
    scene.cycles.device = 'CPU'
    scene.cycles.samples = 16
    scene.cycles.use_denoising = False
    scene.cycles.filter_width = 0.01          # each sample a point: 16 of them average over the pixel
    scene.view_settings.view_transform = 'Standard'
    scene.render.dither_intensity = 0.0
    scene.world.color = (0, 0, 0)
    scene.render.image_settings.file_format = 'PNG'


def image_from_array(name: str, rgba: np.ndarray) -> bpy.types.Image:
    h, w = rgba.shape[:2]
    if rgba.shape[2] == 3:
        rgba = np.concatenate([rgba, np.full((h, w, 1), 255, np.uint8)], axis=2)
    image = bpy.data.images.new(name, w, h, alpha=True)
    image.pixels.foreach_set((rgba[::-1].astype(np.float32) / 255).ravel())
    image.pack()
    return image


def add_mesh(name: str, mesh, texture: bpy.types.Image, colours: dict[int, tuple]) -> bpy.types.Object:
    """The mesh's triangles with their UVs; each material slot an emission of its colour, or of the texture
    over the colour by the texture's alpha where `colours` gives no fixed colour. ICT's see-through overlays
    (which need an alpha-blended shader of their own) are left out."""
    hidden = [k for k, n in enumerate(mesh.material_names) if any(h in n for h in HIDDEN_MATERIALS)]
    keep = ~np.isin(mesh.materials, hidden)
    mesh = dataclasses.replace(mesh, triangles=mesh.triangles[keep], uvs=mesh.uvs[keep],
                               materials=mesh.materials[keep])
    data = bpy.data.meshes.new(name)
    data.from_pydata(mesh.vertices.tolist(), [], mesh.triangles.tolist())
    uv = data.uv_layers.new(name="UVMap")
    uv.data.foreach_set("uv", np.asarray(mesh.uvs, np.float32).ravel())
    weighted = mesh.vertex_weights is not None     # Head from Photo: the photo's weight per vertex, as the add-on
    if weighted:
        data.attributes.new(WEIGHT, 'FLOAT', 'POINT').data.foreach_set("value", mesh.vertex_weights.astype(np.float32))
    obj = bpy.data.objects.new(name, data)
    bpy.context.scene.collection.objects.link(obj)
    for slot in range(int(mesh.materials.max()) + 1):
        obj.data.materials.append(emission_material(f"{name}.{slot}", texture, colours.get(slot), weighted))
    data.polygons.foreach_set("material_index", np.asarray(mesh.materials, np.int32))
    return obj


WEIGHT = "photo_weight"


def emission_material(name: str, texture: bpy.types.Image, colour: tuple | None,
                      weighted: bool = False) -> bpy.types.Material:
    """Emission of `colour` (3 values), or of the texture over `colour[3:]` by the texture's alpha, or by the
    mesh's per-vertex photo weight where `weighted`."""
    material = bpy.data.materials.new(name)
    material.use_nodes = True
    nodes, links = material.node_tree.nodes, material.node_tree.links
    nodes.clear()
    out = nodes.new("ShaderNodeOutputMaterial")
    emission = nodes.new("ShaderNodeEmission")
    links.new(emission.outputs[0], out.inputs["Surface"])
    if colour is not None and len(colour) == 3:
        emission.inputs["Color"].default_value = (*colour, 1)
        return material
    tex = nodes.new("ShaderNodeTexImage")
    tex.image, tex.extension, tex.interpolation = texture, 'CLIP', 'Linear'
    mix = nodes.new("ShaderNodeMix")
    mix.data_type = 'RGBA'
    mix.inputs["A"].default_value = (*(colour[3:] if colour else (0.5, 0.5, 0.5)), 1)
    if weighted:
        weight = nodes.new("ShaderNodeAttribute")
        weight.attribute_name = WEIGHT
        links.new(weight.outputs["Fac"], mix.inputs["Factor"])
    else:
        links.new(tex.outputs["Alpha"], mix.inputs["Factor"])
    links.new(tex.outputs["Color"], mix.inputs["B"])
    links.new(mix.outputs["Result"], emission.inputs["Color"])
    return material


def camera_from_opencv(rotation: np.ndarray, translation: np.ndarray, focal: float, size: tuple[int, int]):
    """A Blender camera where the OpenCV camera (object -> camera `rotation`, `translation`, `focal` in
    pixels, principal point at the image's centre) is."""
    w, h = size
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y = w, h
    data = bpy.data.cameras.new("camera")
    data.sensor_fit = 'HORIZONTAL' if w >= h else 'VERTICAL'    # the longer side spans the 36 mm sensor
    data.sensor_width = data.sensor_height = 36.0
    data.lens = focal * 36.0 / max(w, h)
    data.clip_start, data.clip_end = 0.001, 10000
    cam = bpy.data.objects.new("camera", data)
    scene.collection.objects.link(cam)
    matrix = np.eye(4)
    matrix[:3, :3] = rotation.T @ np.diag([1.0, -1.0, -1.0])
    matrix[:3, 3] = -rotation.T @ translation
    cam.matrix_world = Matrix(matrix.tolist())      # (a plain nested list would be read as columns)
    scene.camera = cam
    return cam


def render(path: Path) -> np.ndarray:
    bpy.context.scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    return load_image(path)


def project(points: np.ndarray, rotation, translation, focal, size) -> np.ndarray:
    cam = points @ rotation.T + translation
    w, h = size
    return np.column_stack([focal * cam[:, 0] / cam[:, 2] + w / 2 - 0.5, focal * cam[:, 1] / cam[:, 2] + h / 2 - 0.5])


def turned(rotation, translation, centre, degrees: float, up: np.ndarray):
    """The camera orbited about `centre` by `degrees` around the object's `up` axis (the head turned)."""
    a = math.radians(degrees)
    k = up / np.linalg.norm(up)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    spin = np.eye(3) + math.sin(a) * kx + (1 - math.cos(a)) * kx @ kx       # object-space rotation
    new_rotation = rotation @ spin.T
    new_translation = rotation @ centre + translation - new_rotation @ centre
    return new_rotation, new_translation


def hull_mask(points: np.ndarray, shape) -> np.ndarray:
    import cv2

    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(points).astype(np.int32)), 1)
    return mask.astype(bool)


INNER = slice(17, 68)    # brows, nose, eyes and mouth: the photo's features on the mesh's


def nme(found: np.ndarray, truth: np.ndarray, points: slice = slice(None)) -> float:
    """Mean distance over `points` (all 68 by default), in outer-eye-corner distances."""
    scale = np.linalg.norm(truth[45] - truth[36])
    return float(np.linalg.norm(found[points] - truth[points], axis=1).mean() / scale)


# --- the measurements ---------------------------------------------------------------------------------------------

def round_trip(photo_path: Path, out: Path) -> tuple[float, np.ndarray]:
    photo = load_image(photo_path)
    h, w = photo.shape[:2]
    points = detect_landmarks(photo, backend="dlib").points
    focal = default_focal((w, h))
    mesh = head_from_photo(points, (w, h), focal)
    reset_scene()
    add_mesh("head", mesh, image_from_array("photo", photo), {})
    camera_from_opencv(np.eye(3), np.zeros(3), focal, (w, h))
    rendered = render(out / f"round_trip_{photo_path.stem}.png")
    mask = hull_mask(points, photo.shape)
    return psnr(rendered[mask], photo[mask][:, :3]), rendered


def linear(srgb: np.ndarray) -> tuple:
    """sRGB values in [0, 255] -> scene-linear colour components (a shader socket's colour)."""
    return tuple(float(c) for c in srgb_to_linear(np.asarray(srgb, np.float64)[:3] / 255))


def ict_colours(mesh, photo, points) -> dict[int, tuple]:
    skin = linear(np.median(photo[hull_mask(points, photo.shape)][:, :3], axis=0))
    colours = {}
    for slot, name in enumerate(mesh.material_names):
        fixed = next((c for key, c in FIXED_COLOURS.items() if key in name), None)
        colours[slot] = fixed if fixed else (0, 0, 0, *skin)    # 6 values: textured over the skin colour
    return colours


def front_camera(mesh, landmark_vertices):
    """Looking at the face along the mesh's +y (the shipped head is in Blender's axes: the face looks along -y,
    z up), 50 mm-like, the face filling about half the frame."""
    lm = mesh.vertices[landmark_vertices]
    centre = lm.mean(axis=0)
    span = np.linalg.norm(lm[45] - lm[36])
    focal = 1.4 * RENDER_SIDE
    distance = focal * span * 3.2 / RENDER_SIDE
    rotation = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])   # camera x = x, camera y (down) = -z, forward = +y
    translation = -rotation @ (centre - np.array([0, distance, 0]))
    return rotation, translation, focal, centre


def placement(photo_path: Path, mesh, landmark_vertices, out: Path, angles=(0, 25)) -> list[float]:
    photo = load_image(photo_path)
    h, w = photo.shape[:2]
    points = detect_landmarks(photo, backend="dlib").points
    fit = fit_head(points, (w, h), mesh, landmark_vertices=landmark_vertices, size=2048, photo=photo)
    texture = bake_frame(photo, fit)
    scores = []
    for angle in angles:
        reset_scene()
        add_mesh("ict", mesh, image_from_array("baked", texture), ict_colours(mesh, photo, points))
        rotation, translation, focal, centre = front_camera(mesh, landmark_vertices)
        rotation, translation = turned(rotation, translation, centre, angle, np.array([0, 0, 1.0]))
        camera_from_opencv(rotation, translation, focal, (RENDER_SIDE, RENDER_SIDE))
        rendered = render(out / f"placement_{photo_path.stem}_{angle}.png")
        truth = project(mesh.vertices[landmark_vertices], rotation, translation, focal, (RENDER_SIDE,) * 2)
        try:
            found = detect_landmarks(rendered, backend="dlib").points
            scores += [nme(found, truth), nme(found, truth, INNER)]
        except Exception as e:  # noqa: BLE001  (no face on the render is a result: it is reported)
            print(f"    {photo_path.name} at {angle} deg: {e}")
            scores += [float("nan")] * 2
    return scores


def person_model(photo_path: Path, out: Path):
    """A person model of the photo, fine-tuned once with `fast` (kept in OUT for the next run)."""
    path = out / f"person_{photo_path.stem}.safetensors"
    if not path.exists():
        finetune([str(photo_path)], str(path), preset=preset_named("fast"), device="cpu")
    return load_person(path)


def expression_frames(person, points: np.ndarray, size, weights: dict[str, float]) -> np.ndarray:
    """Frames of the person with the rig's expressions at `weights` (seen from the front, the photo's pose)."""
    weights = weights or {"jawOpen": 0.0}      # none: the photo's own expression
    keys = list(weights)
    track, _ = expression_track(points, size, keys, np.array([[weights[k] for k in keys]]), 24.0)
    return person.render_frames(np.asarray(track.points)[..., :2])[0]


def ict_render(mesh, landmark_vertices, texture_rgba, colours, angle: float, path: Path, neutral=None):
    """The head rendered turned `angle`, the camera placed on the `neutral` mesh (default: `mesh`), so that
    shape keys move the geometry, not the camera."""
    reset_scene()
    add_mesh("ict", mesh, image_from_array("baked", texture_rgba), colours)
    rotation, translation, focal, centre = front_camera(neutral if neutral is not None else mesh, landmark_vertices)
    rotation, translation = turned(rotation, translation, centre, angle, np.array([0, 0, 1.0]))
    camera_from_opencv(rotation, translation, focal, (RENDER_SIDE, RENDER_SIDE))
    image = render(path)
    return image, project(mesh.vertices[landmark_vertices], rotation, translation, focal, (RENDER_SIDE,) * 2)


def box_share(change: np.ndarray, boxes: list[np.ndarray], margin: float) -> float:
    """The share of `change` (H, W) inside the union of the landmarks' boxes, each widened by `margin` px."""
    inside = np.zeros(change.shape, bool)
    for pts in boxes:
        (x0, y0), (x1, y1) = pts.min(axis=0) - margin, pts.max(axis=0) + margin
        inside[max(0, int(y0)):int(np.ceil(y1)) + 1, max(0, int(x0)):int(np.ceil(x1)) + 1] = True
    return float(change[inside].sum() / max(change.sum(), 1e-9))


def subject(photo_path: Path, mesh, landmark_vertices, out: Path):
    """What the locality and the contact sheet start from: the photo, its landmarks, its person model, its fit
    on the head at 2048 and the head's colours."""
    photo = load_image(photo_path)
    h, w = photo.shape[:2]
    points = detect_landmarks(photo, backend="dlib").points
    fit = fit_head(points, (w, h), mesh, landmark_vertices=landmark_vertices, size=2048, photo=photo)
    return photo, points, person_model(photo_path, out), fit, ict_colours(mesh, photo, points)


def with_shapes(sample, weights: dict[str, float]):
    """The sample head's mesh with its ARKit shape keys at `weights` (the geometry that moves)."""
    vertices = sample.mesh.vertices.copy()
    for name, weight in weights.items():
        indices, deltas = sample.shapes[name]
        vertices[indices] += weight * deltas
    m = sample.mesh
    return type(m)(vertices, m.triangles, m.uvs, m.materials, m.material_names)


def locality(photo_path: Path, sample, out: Path, angle: float = 30) -> dict[str, float]:
    """Each expression 0 -> 1 on the head rendered turned `angle`: the share of the change inside its boxes.
    jawOpen and the blinks in the texture alone (the network's frames, the mesh still); the blinks also as
    geometry (the head's eyeBlink_L/R shape keys, the frames' lids held at the photo's), the add-on's choice
    on heads that have those shape keys."""
    mesh, landmark_vertices = sample.mesh, sample.landmark_vertices
    photo, points, person, fit, colours = subject(photo_path, mesh, landmark_vertices, out)
    h, w = photo.shape[:2]
    blink = {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0}
    cases = (("jawOpen, texture", {"jawOpen": 1.0}, {}, [MOUTH]),
             ("blinks, texture", blink, {}, [RIGHT_EYE, LEFT_EYE]),
             ("blinks, shape keys", {}, {"eyeBlink_L": 1.0, "eyeBlink_R": 1.0}, [RIGHT_EYE, LEFT_EYE]))
    shares = {}
    for name, expression, shapes, groups in cases:
        renders, boxes = [], []
        for k, scale in enumerate((0.0, 1.0)):
            frame = expression_frames(person, points, (w, h), {key: scale * v for key, v in expression.items()})
            shaped = with_shapes(sample, {key: scale * v for key, v in shapes.items()})
            image, projected = ict_render(shaped, landmark_vertices, bake_frame(frame, fit), colours, angle,
                                          out / f"locality_{name.replace(', ', '_').replace(' ', '_')}_{k}.png",
                                          neutral=mesh)
            renders.append(image.astype(np.float64))
            boxes += [projected[g] for g in groups]          # the boxes of both states
        change = np.abs(renders[1] - renders[0]).sum(axis=2)
        face_width = np.linalg.norm(projected[16] - projected[0])
        shares[name] = box_share(change, boxes, 0.1 * face_width)
    return shares


def contact_sheet(photo_path: Path, mesh, landmark_vertices, out: Path) -> Path:
    """Rows: the ICT head and the Head from Photo head, mouth closed and open; columns: 0, 25, 45 degrees."""
    from PIL import Image, ImageDraw

    photo, points, person, fit, colours = subject(photo_path, mesh, landmark_vertices, out)
    h, w = photo.shape[:2]
    focal = default_focal((w, h))
    own = head_from_photo(points, (w, h), focal)
    own_centre = own.vertices[:len(own.vertices) // 2].mean(axis=0)
    tile, angles = 256, (0, 25, 45)
    sheet = Image.new("RGB", (tile * (len(angles) + 1), tile * 4 + 20), "white")
    draw = ImageDraw.Draw(sheet)
    for c, angle in enumerate(angles):
        draw.text((tile * (c + 1) + 4, 4), f"{angle} degrees", fill="black")
    row = 0
    for mouth in (0.0, 1.0):
        frame = expression_frames(person, points, (w, h), {"jawOpen": mouth})
        sheet.paste(Image.fromarray(frame).resize((tile, tile)), (0, 20 + tile * row))
        draw.text((4, 24 + tile * row), f"frame, jawOpen {mouth:.0f}", fill="white")
        for c, angle in enumerate(angles):
            image, _ = ict_render(mesh, landmark_vertices, bake_frame(frame, fit), colours, angle,
                                  out / f"sheet_ict_{mouth:.0f}_{angle}.png")
            sheet.paste(Image.fromarray(image).resize((tile, tile)), (tile * (c + 1), 20 + tile * row))
            reset_scene()
            fade = (0, 0, 0, *linear(fade_colour(photo, own)))      # the add-on's plain colour
            add_mesh("own", own, image_from_array("frame", frame), {0: fade, 1: fade})
            rotation, translation = turned(np.eye(3), np.zeros(3), own_centre, angle, np.array([0, -1.0, 0]))
            camera_from_opencv(rotation, translation, focal, (w, h))
            image = render(out / f"sheet_own_{mouth:.0f}_{angle}.png")
            sheet.paste(Image.fromarray(image).resize((tile, tile)), (tile * (c + 1), 20 + tile * (row + 2)))
        row += 1
    path = out / "contact_sheet.png"
    write_png(path, np.asarray(sheet))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--portraits", type=int, default=5)
    parser.add_argument("--first", help="the portrait for the locality figures and the contact sheet (a file name)")
    parser.add_argument("--out", default=str(ROOT / "out" / "head_quality"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    photos = sorted(p for p in PORTRAITS.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    photos = photos[:args.portraits]
    started = time.time()

    print("| portrait | round trip PSNR over the landmark hull (dB) | NME front, all 68 (inner 51) "
          "| NME turned 25 deg, all 68 (inner 51) |")
    print("| --- | --- | --- | --- |")
    sample = sample_head()
    mesh, landmark_vertices = sample.mesh, sample.landmark_vertices
    for photo in photos:
        try:
            db, _ = round_trip(photo, out)
            front, front_inner, side, side_inner = placement(photo, mesh, landmark_vertices, out)
        except Exception as e:  # noqa: BLE001
            print(f"| {photo.name} | failed: {e} | | |")
            continue
        print(f"| {photo.name} | {db:.2f} | {front:.4f} ({front_inner:.4f}) | {side:.4f} ({side_inner:.4f}) |",
              flush=True)
    first = PORTRAITS / args.first if args.first else photos[0]
    shares = locality(first, sample, out)
    print(f"\nlocality on the ICT head turned 30 degrees ({first.name}), share of the change inside the "
          f"mouth's box (jawOpen) or the eyes' boxes (blinks), 0 -> 1:")
    for name, share in shares.items():
        print(f"  {name:<20} {100 * share:5.1f} %")
    print(f"contact sheet: {contact_sheet(first, mesh, landmark_vertices, out)}")
    print(f"\n{time.time() - started:.0f} s; renders in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
