"""The talking face on a 3D head: the artist's mesh, where the photo lies on it, and frames baked to its UVs.

- `mesh.py`        the head mesh as the project reads it (OBJ, glTF, the add-on's .npz) and its checks
- `raster.py`      triangles to pixels: which triangle covers each texel or pixel, and where on it
- `fit.py`         the fit: landmark vertices, the photo's camera, the smooth correction, the texel map
- `landmark_guess.py` the mesh's landmark vertices when none are given: renders, dlib, cast onto the skin
- `bake.py`        a frame at the photo's pose, sampled once into the mesh's UV space
- `from_photo.py`  Head from Photo: a head built from the photo itself, its UVs the photo's pixels
- `pose.py`        the driver's head rotation split from its expression (the mesh carries the pose)
"""
