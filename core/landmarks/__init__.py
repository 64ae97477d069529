"""The 68 facial landmarks (iBUG 300-W order): detection, the canonical crop, drawings and a generic 3D face.

Modules are imported on use, so that `python -m core --help` and the add-on stay fast:
`detect` (FAN / dlib), `align` (crops, paste-back), `draw` (landmark images in torch), `groups` (the face
parts' indices), `face3d` (a generic 3D face). Tracks of them over a video are `core.track`'s.
"""
