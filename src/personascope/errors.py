"""Errors the CLI turns into one-line messages and a non-zero exit.

Anything raised as a :class:`PersonascopeError` is a problem with the user's input or
environment (a bad config, a missing model file, a server that refuses); its message is
written for the user, in one line, naming the thing at fault.
"""

from __future__ import annotations


class PersonascopeError(Exception):
    """A user-facing error: the message is printed as is, without a traceback."""


class ModelNotFoundError(PersonascopeError):
    """An unknown model id, or a model whose files are not installed."""


class ModelLoadError(PersonascopeError):
    """A model file exists but cannot be loaded (corrupt, wrong format)."""


class PromptTooLongError(PersonascopeError):
    """A prompt (plus the tokens to generate) does not fit the model's context."""


class BackendError(PersonascopeError):
    """A backend failed at run time: a server error, a timeout, a refused connection."""


class InputFileError(PersonascopeError):
    """A malformed input file; the message names the file, the line and the field."""


class MetricInputError(PersonascopeError, ValueError):
    """Input a metric cannot be computed on (too few texts, no n-grams, bad shapes)."""


class ExecutorError(PersonascopeError):
    """An executor cannot run batches: Ray missing or unreachable, every worker lost."""


class LabError(PersonascopeError):
    """The collapse lab cannot go on: an unknown or failing reward, too few distinct
    samples to form preference pairs, a damaged training checkpoint."""
