"""Prompt text for local backends: a :class:`ChatPrompt` rendered with the Jinja chat
template a model file carries, and the checks every tokenized prompt must pass.

Templates come from model files, which are untrusted input like any other: they are
rendered in Jinja's immutable sandbox.
"""

from __future__ import annotations

from functools import lru_cache

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from personascope.errors import ModelLoadError, PromptTooLongError
from personascope.models.base import ChatPrompt, Prompt


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


def render_prompt(
    prompt: Prompt, template: str | None, bos_token: str, eos_token: str, model_id: str
) -> str:
    """The exact text a model is given: a text prompt as it is, a chat prompt through the
    model's template (a model without one, i.e. a base model, cannot take a chat prompt)."""
    if not isinstance(prompt, ChatPrompt):
        return prompt.text
    if not template:
        raise ModelLoadError(
            f"{model_id} has no chat template (a base model): give it a text prompt"
        )
    return render_chat(template, prompt, bos_token, eos_token)


def checked_prompt(tokens: list[int], n_ctx: int, model_id: str) -> list[int]:
    """``tokens`` if the prompt is not empty and leaves room for one more token."""
    if not tokens:
        raise PromptTooLongError(f"{model_id}: the prompt is empty")
    if len(tokens) >= n_ctx:
        raise PromptTooLongError(
            f"{model_id}: a prompt of {len(tokens)} tokens does not fit the context of "
            f"{n_ctx} tokens"
        )
    return tokens
