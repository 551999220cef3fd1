"""The scheduler: reads the content repository, plans bundles, runs releases."""

__version__ = "0.1.0"
