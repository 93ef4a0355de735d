"""Sampler settings as persona strategy config files write them.

The shared config helpers (:class:`~personascope.config.StrictModel`, ``read_yaml``,
``validate_config``) live in :mod:`personascope.config`.
"""

from __future__ import annotations

from pydantic import Field

from personascope.config import StrictModel
from personascope.models.base import SamplerSettings


class SamplerConfig(StrictModel):
    """Sampler settings as written in a config file (see ``SamplerSettings``)."""

    temperature: float = Field(1.0, ge=0, allow_inf_nan=False)
    top_p: float = Field(1.0, gt=0, le=1, allow_inf_nan=False)
    top_k: int = Field(0, ge=0)
    min_p: float = Field(0.0, ge=0, lt=1, allow_inf_nan=False)
    max_tokens: int = Field(160, ge=1)

    def settings(self, stop: tuple[str, ...] = ()) -> SamplerSettings:
        return SamplerSettings(
            self.temperature, self.top_p, self.top_k, self.min_p, self.max_tokens, stop
        )
