"""Rendering a :class:`ChatPrompt` with the Jinja chat template a model file carries.

Templates come from model files, which are untrusted input like any other: they are
rendered in Jinja's immutable sandbox.
"""

from __future__ import annotations

from functools import lru_cache

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from personascope.errors import ModelLoadError
from personascope.models.base import ChatPrompt


def _raise_exception(message: str) -> None:
    raise TemplateError(message)


@lru_cache(maxsize=8)
def _compile(template: str):  # type: ignore[no-untyped-def]
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = _raise_exception
    return env.from_string(template)


def render_chat(template: str, prompt: ChatPrompt, bos_token: str, eos_token: str) -> str:
    """The text the model sees: the conversation, a generation prompt, the prefill."""
    messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
    try:
        text = _compile(template).render(
            messages=messages,
            add_generation_prompt=True,
            bos_token=bos_token,
            eos_token=eos_token,
        )
    except TemplateError as exc:
        raise ModelLoadError(f"the model's chat template failed to render: {exc}") from exc
    return text + prompt.assistant_prefix
