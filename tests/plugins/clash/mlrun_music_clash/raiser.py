"""Raises inside a hook."""

from mlrun_music.hookspecs import hookimpl


@hookimpl
def register_datasets(register):
    raise RuntimeError("dataset index is corrupt")
