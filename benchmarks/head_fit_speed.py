"""The head fit (core/head/fit.py) on the shipped ICT-FaceKit head (26 719 vertices, 52 220 triangles).

Part 1, speed: `fit_head` at 1024, 2048 and 4096 texels with the landmark vertices given, and at 2048 with
them guessed (renders + dlib), on the 68 landmarks of a portrait from ../shared/media/portraits (dlib), or on
a synthetic projection of the head where that folder is missing. Target: under 10 s at 2048 on the 2-core CPU.
Part 2, the guessed landmark vertices against ICT-FaceKit's own: mean, median and largest 3D distance (cm).
Part 3, the camera with and without the jaw outline: the head rendered (Lambert, perspective) at known turns,
dlib's landmarks on the render, the camera fitted from the true landmark vertices with all 68 points or
without the 17 of the jaw; the error of the recovered turn (degrees) and focal length (%).

Prints markdown tables (paste them into benchmarks/RESULTS.md with the command).

Usage: python benchmarks/head_fit_speed.py [--repeats 2]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from core.__main__ import project_package  # noqa: E402  (the project folder as `talking_heads`)

project_package()

import cv2  # noqa: E402

from talking_heads.core.head.fit import fit_camera, fit_head, project  # noqa: E402
from talking_heads.core.head.landmark_guess import guess_landmark_vertices, view_rotation  # noqa: E402
from talking_heads.core.head.mesh import sample_head, vertex_normals  # noqa: E402
from talking_heads.core.head.raster import interpolate, rasterize  # noqa: E402
from talking_heads.core.landmarks.detect import detect_landmarks  # noqa: E402
from talking_heads.core.landmarks.groups import JAW  # noqa: E402

PORTRAIT = ROOT.parent / "shared" / "media" / "portraits" / "TPSMM-source.png"
FRONT = view_rotation((0, 1, 0), (0, 0, 1))   # the sample head looks along -Y, Z up


def photo_landmarks(head):
    if PORTRAIT.is_file():
        from talking_heads.core.images import load_image

        image = load_image(PORTRAIT)
        return detect_landmarks(image, backend="dlib").points, (image.shape[1], image.shape[0]), PORTRAIT.name
    rotation = cv2.Rodrigues(np.array([0.05, 0.3, 0.0]))[0] @ FRONT
    size = (1024, 1024)
    return (project(head.mesh.vertices[head.landmark_vertices], rotation, np.array([0, 0.02, 0.7]), 1800.0, size),
            size, "a synthetic projection")


def timed(function, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def speed(head, repeats: int) -> None:
    points, size, source = photo_landmarks(head)
    print(f"\nfit_head on the ICT-FaceKit head, the landmarks of {source} ({size[0]}x{size[1]}); best of {repeats}\n")
    print("| texels | landmark vertices | seconds |\n| --- | --- | --- |")
    for texels in (1024, 2048, 4096):
        seconds = timed(lambda: fit_head(points, size, head.mesh, head.landmark_vertices, size=texels), repeats)
        print(f"| {texels} | given | {seconds:.2f} |")
    guess = timed(lambda: guess_landmark_vertices(head.mesh), repeats)
    seconds = timed(lambda: fit_head(points, size, head.mesh, None, size=2048), repeats)
    print(f"| 2048 | guessed | {seconds:.2f} (the guess alone {guess:.2f}) |")


def guessed_accuracy(head) -> None:
    guessed = guess_landmark_vertices(head.mesh)
    distance = 100 * np.linalg.norm(head.mesh.vertices[guessed] - head.mesh.vertices[head.landmark_vertices], axis=1)
    print("\nguessed landmark vertices against ICT-FaceKit's own (3D distance, cm)\n")
    print("| points | mean | median | largest |\n| --- | --- | --- | --- |")
    for name, index in (("all 68", np.arange(68)), ("jaw (0-16)", np.arange(17)), ("inner (17-67)", np.arange(17, 68))):
        d = distance[index]
        print(f"| {name} | {d.mean():.2f} | {np.median(d):.2f} | {d.max():.2f} |")


def render(head, rotation, translation, focal, size=(800, 800)) -> np.ndarray:
    """The head through a perspective camera, Lambert-shaded with a light at the camera (grey, RGB)."""
    mesh = head.mesh
    camera = mesh.vertices @ rotation.T + translation
    pixels = project(mesh.vertices, rotation, translation, focal, size)
    raster = rasterize(pixels[mesh.triangles], (size[1], size[0]), camera[:, 2][mesh.triangles])
    normal = interpolate(raster, mesh.triangles, vertex_normals(mesh.vertices, mesh.triangles) @ rotation.T)
    point = interpolate(raster, mesh.triangles, camera)
    light = np.abs(np.einsum("ij,ij->i", normal, point)) / (np.linalg.norm(normal, axis=1)
                                                           * np.linalg.norm(point, axis=1))
    image = np.zeros(size[0] * size[1], np.uint8)
    image[raster.covered] = np.round(40 + 200 * light).astype(np.uint8)
    return np.repeat(image.reshape(size[1], size[0], 1), 3, axis=2)


def jaw_or_not(head) -> None:
    print("\nthe camera from dlib's landmarks on renders at known turns (focal 1600 px, 800 x 800), true landmark "
          "vertices\n")
    print("| turn | points | rotation error (deg) | focal error (%) | RMS px |\n| --- | --- | --- | --- | --- |")
    anchors = head.mesh.vertices[head.landmark_vertices]
    for degrees in (0, 15, 30):
        rotation = cv2.Rodrigues(np.array([0.0, np.radians(degrees), 0.0]))[0] @ FRONT
        translation, focal = np.array([0.0, 0.03, 0.9]), 1600.0
        points = detect_landmarks(render(head, rotation, translation, focal), backend="dlib").points
        for name, index in (("all 68", np.arange(68)), ("no jaw (51)", np.arange(len(JAW), 68))):
            r, _, f, rms = fit_camera(anchors[index], points[index], (800, 800))
            angle = np.degrees(np.linalg.norm(cv2.Rodrigues(r @ rotation.T)[0]))
            print(f"| {degrees} | {name} | {angle:.2f} | {100 * (f / focal - 1):+.1f} | {rms:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=2, help="runs per figure (the best is shown)")
    args = parser.parse_args()
    head = sample_head()
    speed(head, args.repeats)
    guessed_accuracy(head)
    jaw_or_not(head)


if __name__ == "__main__":
    main()
