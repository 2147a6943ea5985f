"""Named OpenAI-compatible services: ``groq``, ``mistral``, ``deepseek``, ``openrouter``,
``together``, ``fireworks``, ``cerebras``, ``perplexity`` and ``openai_compatible`` (any base URL).

One codec, :class:`CompatibleProvider` (the OpenAI one, subclassed), shaped per service by a
:class:`Preset` record in :data:`PRESETS`. The registry builds every preset through
:func:`create` (``"metallm.providers.compatible:create"``); their default base URLs and key
variables are registry data in ``metallm._builtins``.
"""

from ._presets import PRESETS, Preset, preset_for
from .codec import CompatibleProvider, create

__all__ = ["PRESETS", "CompatibleProvider", "Preset", "create", "preset_for"]
