"""Geometry shared by every layer: how time maps between frame rates (`retime`), how a camera sees the image
plane that shows a reference photo (`camera`) and the similarity between two sets of points (`similarity`)."""
