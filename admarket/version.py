"""The package version, and the versions a run's result depends on, in a module of its own
so anything can read them without importing the model."""

import platform

__version__ = "0.2.0"


def result_versions() -> dict[str, str]:
    """The versions a run's result depends on, in this process: a Dask worker must match
    them (``batch.cluster``), and a sweep's journal reuses a run only if they match
    (``outputs.sweep_journal``)."""
    import mesa
    import networkx
    import numpy
    import pandas
    import scipy

    return {
        "admarket": __version__,
        "mesa": mesa.__version__,
        "numpy": numpy.__version__,  # random streams and float arithmetic
        "scipy": scipy.__version__,  # its distributions draw from our streams
        "pandas": pandas.__version__,  # builds each run's tables
        "networkx": networkx.__version__,  # builds the market graph the model reads
        "python": ".".join(platform.python_version_tuple()[:2]),
    }
