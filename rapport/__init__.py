"""Rapport: permission-based, personalized messaging for customer retention.

The code lives in three sub-packages mapped from the repository's top-level
folders: :mod:`rapport.engine`, :mod:`rapport.consent` and :mod:`rapport.channels`.
"""

__version__ = "0.1.0"
