"""Defaults the `jikimi link` command needs to build its parser, kept apart from the engine
so that `jikimi link --help` (and a bad option) answers without importing pandas and Splink."""

DEFAULT_THRESHOLD = 0.35  # see docs/linkage.md, "Threshold"
