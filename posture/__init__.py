"""Domain core of PoliceTech Assure: settings, storage, scoring, snapshots, audit and jobs."""

__version__ = "0.1.0"
