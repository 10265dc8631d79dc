"""Typed errors for bad input.

Every error the user can cause is one of these, with a message that names the file or
value and what is wrong with it; the CLI turns them into one line and exit code 2.
"""

from __future__ import annotations


class WstagError(Exception):
    """Base class: a problem with the user's input or environment, not a bug."""


class AudioError(WstagError):
    """An audio file is missing, unreadable, empty, or holds invalid samples."""


class LabelError(WstagError):
    """A label or caption file is malformed or violates the schema."""


class ConfigError(WstagError):
    """A configuration value or preset name is invalid."""


class FetchError(WstagError):
    """The sound bank's sources could not be fetched or unpacked."""


class QueryError(WstagError):
    """A text query cannot be used (for example, it is empty)."""


class ModelFolderError(WstagError):
    """A model folder is missing files or they do not match each other."""
