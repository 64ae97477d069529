"""Geometry shared by every layer: how time maps between frame rates (`retime`) and how a camera sees the
image plane that shows a reference photo (`camera`)."""
