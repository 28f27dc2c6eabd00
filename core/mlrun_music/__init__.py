"""mlrun-music: one CLI and framework for music machine-learning tasks delivered as plugins.

Import name ``mlrun_music`` and distribution ``mlrun-music`` (the PyPI/import name ``mlrun`` belongs to an
unrelated project). Importing this package is cheap: no torch until training, evaluation or export.
"""

__version__ = "0.1.0"
