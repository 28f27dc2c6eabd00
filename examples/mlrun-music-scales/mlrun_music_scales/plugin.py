"""Entry point: registers a dataset and a model for chromasonic (torch-free: only declarations)."""

from mlrun_music.hookspecs import hookimpl
from mlrun_music.task import DatasetSpec, ModelSpec


@hookimpl
def register_datasets(register):
    register("chromasonic", DatasetSpec("scales", "mlrun_music_scales.impl:load_scales",
                                        "Scale and arpeggio exercises in all 24 major and minor keys."))


@hookimpl
def register_models(register):
    register("chromasonic", ModelSpec("gru", "mlrun_music_scales.impl:build_gru",
                                      "Embedding -> GRU -> next event (from mlrun-music-scales)."))
