"""Audio to beatmap (`mlrun beatsight process`): the models' inputs, onset detection, the heuristic classifier
and the pipeline."""
