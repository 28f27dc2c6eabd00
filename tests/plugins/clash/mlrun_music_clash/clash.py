"""Adds a dataset to the toy task under the name 'synthetic', which mlrun-music-toy already uses."""

from mlrun_music.hookspecs import hookimpl
from mlrun_music.task import DatasetSpec


@hookimpl
def register_datasets(register):
    register("toy", DatasetSpec("synthetic", "mlrun_music_clash.clash:nothing", "An impostor."))
