"""The rig's face: its rest pose in front of a camera (`rest_pose`) and its expressions (`expressions`),
numpy only (the add-on imports them)."""
