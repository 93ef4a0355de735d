"""Generation strategies by name, built from a config mapping or a YAML file.

==============  ===============================================================
``naive``       "describe a person" (chat instruction / base completion frame)
``sampling``    naive over a temperature x min-p x top-p grid
``verbalized``  k personas with probabilities per call (Zhang et al. 2025)
``layered``     attributes from declared layers, the model only describes
``diasynth``    layered with topic -> subtopic and DiaSynth's context characteristics
``marginals``   demographics fitted to marginal tables by IPF, then described
``simulator``   RecLLM-style user simulator: latent profile + intents, multi-turn
==============  ===============================================================
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from personascope.config import read_settings, read_yaml, validate_config
from personascope.errors import InputFileError, PersonascopeError
from personascope.personas.marginals import MarginalsConfig
from personascope.personas.strategies.base import (
    Job,
    Population,
    Strategy,
    Unit,
    generate_population,
)
from personascope.personas.strategies.describe import (
    DiaSynthStrategy,
    LayeredConfig,
    LayeredStrategy,
    MarginalsStrategy,
)
from personascope.personas.strategies.naive import (
    NaiveConfig,
    NaiveStrategy,
    SamplingConfig,
    SamplingStrategy,
)
from personascope.personas.strategies.simulator import SimulatorConfig, SimulatorStrategy
from personascope.personas.strategies.verbalized import VerbalizedConfig, VerbalizedStrategy

STRATEGY_NAMES = (
    "naive",
    "sampling",
    "verbalized",
    "layered",
    "diasynth",
    "marginals",
    "simulator",
)

__all__ = [
    "STRATEGY_NAMES",
    "Job",
    "Population",
    "Strategy",
    "Unit",
    "generate_population",
    "load_strategy",
    "make_strategy",
]


def make_strategy(
    name: str,
    data: dict[str, Any] | None = None,
    source: str = "config",
    base_dir: Path | None = None,
) -> Strategy:
    """The strategy ``name`` configured by ``data`` (None: its defaults).

    ``source`` names the config in error messages; ``base_dir`` resolves relative paths
    in it (the marginals seed table).
    """
    if name not in STRATEGY_NAMES:
        raise PersonascopeError(f"unknown strategy {name!r}; known: {', '.join(STRATEGY_NAMES)}")
    if data is not None and "strategy" in data:
        data = dict(data)
        declared = data.pop("strategy")
        if declared != name:
            raise InputFileError(f"{source}: strategy: the file is for {declared!r}, not {name!r}")
    if data is None:
        defaults: dict[str, Any] = {
            "naive": NaiveStrategy, "sampling": SamplingStrategy, "verbalized": VerbalizedStrategy,
            "layered": LayeredStrategy, "diasynth": DiaSynthStrategy,
            "marginals": MarginalsStrategy, "simulator": SimulatorStrategy,
        }  # fmt: skip
        return defaults[name]()
    if name == "naive":
        return NaiveStrategy(validate_config(NaiveConfig, data, source))
    if name == "sampling":
        return SamplingStrategy(validate_config(SamplingConfig, data, source))
    if name == "verbalized":
        return VerbalizedStrategy(validate_config(VerbalizedConfig, data, source))
    if name in ("layered", "diasynth"):
        defaults = LayeredStrategy if name == "layered" else DiaSynthStrategy
        config = validate_config(LayeredConfig, _over_defaults(defaults.default_file, data), source)
        return defaults(config)
    if name == "marginals":
        config = validate_config(MarginalsConfig, data, source)
        return MarginalsStrategy(config, (base_dir or Path.cwd()) / Path(source).name)
    merged = _over_defaults(SimulatorStrategy.default_file, data)
    return SimulatorStrategy(validate_config(SimulatorConfig, merged, source))


def _over_defaults(default_file: Path, data: dict[str, Any]) -> dict[str, Any]:
    """Top-level keys of ``data`` over those of a packaged default config."""
    defaults = read_yaml(default_file)
    return {**defaults, **data}


def load_strategy(name: str, path: Path | str | None = None) -> Strategy:
    """The strategy ``name``, configured by the YAML file at ``path`` if given."""
    if path is None:
        return make_strategy(name)
    path = Path(path)
    return make_strategy(name, read_settings(path), str(path), path.parent)
