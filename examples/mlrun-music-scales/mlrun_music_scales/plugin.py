"""Entry point: registers a dataset and a model for chromasonic (torch-free: only declarations)."""

import attrs

from mlrun_music.config import option
from mlrun_music.hookspecs import hookimpl
from mlrun_music.task import DatasetSpec, ModelSpec


@attrs.define(kw_only=True)
class ScalesOptions:
    """Options of the scales dataset: they become options of `mlrun train chromasonic`, usable with it only."""

    scales_keys: int = option(12, "Tonics from middle C upwards whose major and minor exercises are written.",
                              min=1, max=12)


@hookimpl
def register_datasets(register):
    register("chromasonic", DatasetSpec("scales", "mlrun_music_scales.impl:load_scales",
                                        "Scale and arpeggio exercises in up to 24 major and minor keys.",
                                        options=ScalesOptions))


@hookimpl
def register_models(register):
    register("chromasonic", ModelSpec("gru", "mlrun_music_scales.impl:build_gru",
                                      "Embedding -> GRU -> next event (from mlrun-music-scales)."))
