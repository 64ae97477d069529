"""The application above the library: the command line, the worker the add-on talks to, the demo and the
file-writing half of generation. Imports core and export; imported by blender_addon only where no torch is needed."""
