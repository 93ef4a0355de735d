"""What ``personascope models`` lists: embedded models, lab checkpoints and the providers
that take any id (``vllm/``, ``hf/``, ``openai-api/`` ...), with whether each is installed
and, for embedded llama.cpp files, whether it loads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from personascope.errors import PersonascopeError
from personascope.models.catalog import EMBEDDED
from personascope.models.providers import providers, resolve


@dataclass(frozen=True)
class Listed:
    """One row of the catalogue."""

    model_id: str
    kind: str
    installed: str
    loadable: str
    about: str

    def record(self) -> dict[str, str]:
        return asdict(self)


def _embedded(check: bool) -> list[Listed]:
    from personascope.models.providers import load_model

    rows = []
    for name, entry in EMBEDDED.items():
        for provider in ("llamacpp", "hf"):
            model_id = f"{provider}/{name}"
            installed, loadable = "no", "-"
            try:
                spec = resolve(model_id)
                installed = "yes"
                if check and provider == "llamacpp":
                    load_model(spec).close()
                    loadable = "yes"
                elif provider == "hf":
                    loadable = "not checked (slow)"
            except PersonascopeError as exc:
                loadable = "no" if installed == "yes" else "-"
                installed = installed if installed == "yes" else f"no: {exc}"
            rows.append(Listed(model_id, entry.kind, installed, loadable, entry.description))
    return rows


def _lab() -> list[Listed]:
    from personascope.lab.checkpoints import checkpoints, lookup

    try:
        known = checkpoints()
    except PersonascopeError as exc:
        return [Listed("lab/<name>", "base", f"no: {exc}", "-", "checkpoints of `lab`")]
    rows = []
    for name, checkpoint in sorted(known.items()):
        try:
            lookup(name)
            installed = "yes"
        except PersonascopeError as exc:
            installed = f"no: {exc}"
        about = f"{checkpoint.base} + DPO LoRA, step {checkpoint.step} ({checkpoint.tag})"
        rows.append(Listed(checkpoint.model_id, "base", installed, "not checked", about))
    return rows


def _templates() -> list[Listed]:
    """One row per registered provider: ``<name>/...`` and whether its backend imports."""
    rows = []
    for provider in providers().values():
        missing = provider.available()
        installed = "yes" if missing is None else f"no: {missing}"
        rows.append(Listed(f"{provider.name}/...", "base or chat", installed, "-", provider.help))
    return rows


def catalogue(check: bool = True) -> list[Listed]:
    """Every listed model: embedded ones (loaded when ``check``), lab checkpoints, then the
    provider templates."""
    return [*_embedded(check), *_lab(), *_templates()]
