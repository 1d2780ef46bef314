"""The commands that run the whole: init, serve, web, monitor, backup, restore, keys, import.

The top layer: it may import every app; no app imports it.
"""
