"""The 68 facial landmarks (iBUG 300-W order): detection, the canonical crop, drawings and tracks.

Modules are imported on use, so that `python -m core --help` and the add-on stay fast:
`detect` (FAN / dlib), `align` (crops, paste-back), `draw` (landmark images in torch),
`track_file` (the track file), `track` (extraction from video, retargeting), `groups` (the face parts'
indices), `face3d` (a generic 3D face).
"""
