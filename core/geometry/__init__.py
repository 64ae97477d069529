"""Geometry shared by every layer: how time maps between frame rates (`retime`)."""
