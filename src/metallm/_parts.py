"""The parts a message's content is made of, and the cache marks they may carry.

Text, images, documents and audio, each a pydantic model in the Chat Completions shape where
one exists; :data:`ContentPart` is their union. Re-exported by :mod:`metallm.types`, where users
find them. Annotations are objects, not strings, for the reason :mod:`metallm.types` gives.
"""

import base64
import binascii
from typing import Literal

from ._input import _Input
from .errors import InvalidRequestError

__all__ = [
    "AUDIO_FORMATS",
    "DOCUMENT_MIME_TYPES",
    "AudioPart",
    "CacheControl",
    "ContentPart",
    "DocumentPart",
    "ImagePart",
    "ImageURL",
    "InputAudio",
    "TextPart",
]


class CacheControl(_Input):
    """A prompt-cache breakpoint: the prompt up to and including the part, message or tool
    that carries it is worth caching.

    One portable spelling for what Anthropic calls ``cache_control`` and Bedrock a
    ``cachePoint``; providers that cache on their own (OpenAI, xAI, Gemini, Ollama) ignore it,
    so the same request still works there. ``ttl`` is ``"5m"`` or ``"1h"``; ``None`` leaves
    the provider's default (5 minutes). A TTL no provider offers is refused before any I/O.
    """

    type: Literal["ephemeral"] = "ephemeral"
    ttl: str | None = None


class TextPart(_Input):
    """A piece of text inside a multi-part message; ``cache_control`` marks a cache breakpoint
    after it."""

    type: Literal["text"] = "text"
    text: str
    cache_control: CacheControl | None = None


class ImageURL(_Input):
    """Where an image is: an ``https://`` URL or a ``data:`` URL with base64 content."""

    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Input):
    """An image input, by URL or inline base64 data (``ImagePart.from_base64``);
    ``cache_control`` marks a cache breakpoint after it."""

    type: Literal["image_url"] = "image_url"
    image_url: ImageURL
    cache_control: CacheControl | None = None

    @classmethod
    def from_url(
        cls, url: str, detail: Literal["auto", "low", "high"] | None = None
    ) -> "ImagePart":
        """An image the provider fetches itself (or a ``data:`` URL)."""
        return cls(image_url=ImageURL(url=url, detail=detail))

    @classmethod
    def from_base64(cls, data: str, mime_type: str = "image/png") -> "ImagePart":
        """An image sent inline; ``data`` is base64 text without the ``data:`` prefix."""
        return cls(image_url=ImageURL(url=f"data:{mime_type};base64,{data}"))

    def inline_data(self) -> tuple[str, str] | None:
        """``(mime_type, base64)`` when the image is a ``data:`` URL, else ``None``.

        Providers that cannot fetch URLs (Gemini, Anthropic, Ollama) need the inline form.
        """
        url = self.image_url.url
        if not url.startswith("data:") or ";base64," not in url:
            return None
        head, _, data = url.partition(";base64,")
        return head[5:] or "application/octet-stream", data


DOCUMENT_MIME_TYPES = ("application/pdf", "text/plain")
"""The document types a :class:`DocumentPart` may hold: the two every document-taking provider
reads (others, such as Word files, are not portable, so they are refused up front)."""

AUDIO_FORMATS: dict[str, str] = {
    "wav": "audio/wav", "mp3": "audio/mp3", "aiff": "audio/aiff", "aac": "audio/aac",
    "ogg": "audio/ogg", "flac": "audio/flac", "opus": "audio/opus", "m4a": "audio/mp4",
    "mp4": "audio/mp4", "mpeg": "audio/mpeg", "mpga": "audio/mpeg", "webm": "audio/webm",
    "mkv": "audio/x-matroska", "mka": "audio/x-matroska", "x-aac": "audio/aac",
    "pcm": "audio/pcm",
}  # fmt: skip
"""Audio format -> MIME type, for every format a provider documents: OpenAI's ``wav``/``mp3``,
Gemini's WAV, MP3, AIFF, AAC, OGG and FLAC (``audio/wav``, ``audio/mp3``, ... as Gemini spells
them), and Bedrock Converse's ``AudioBlock`` list. A format outside it is an input error."""


class DocumentPart(_Input):
    """A document input: a PDF or plain text, inline (base64 ``data``) or by ``url``.

    Plain text is base64 too (``DocumentPart.from_text`` encodes it), so one field holds either
    kind and the bytes reach providers that take files exactly as given. ``url`` is an
    ``https://`` URL or a provider's own scheme (``gs://`` for Gemini on Vertex, ``s3://`` for
    Bedrock). ``name`` is the file name or title providers show the model.
    """

    type: Literal["document"] = "document"
    data: str | None = None
    url: str | None = None
    mime_type: str = "application/pdf"
    name: str | None = None
    cache_control: CacheControl | None = None

    @classmethod
    def from_base64(
        cls, data: str, mime_type: str = "application/pdf", name: str | None = None
    ) -> "DocumentPart":
        """A document sent inline; ``data`` is base64 text without a ``data:`` prefix."""
        return cls(data=data, mime_type=mime_type, name=name)

    @classmethod
    def from_url(
        cls, url: str, mime_type: str = "application/pdf", name: str | None = None
    ) -> "DocumentPart":
        """A document the provider fetches itself (support differs: see the README table)."""
        return cls(url=url, mime_type=mime_type, name=name)

    @classmethod
    def from_text(cls, text: str, name: str | None = None) -> "DocumentPart":
        """A plain-text document (``text/plain``), its UTF-8 bytes base64-encoded."""
        data = base64.b64encode(text.encode("utf-8")).decode("ascii")
        return cls(data=data, mime_type="text/plain", name=name)

    def text(self) -> str:
        """The text of an inline ``text/plain`` document, decoded back from base64 (UTF-8);
        providers that take plain text rather than bytes (Anthropic) send this."""
        if self.data is None or self.mime_type != "text/plain":
            raise InvalidRequestError("only an inline text/plain DocumentPart has text")
        try:
            return base64.b64decode(self.data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidRequestError(
                "a text/plain DocumentPart's data must be base64 of UTF-8 text"
            ) from None


class InputAudio(_Input):
    """Audio bytes (base64, no ``data:`` prefix) and their format (a key of AUDIO_FORMATS)."""

    data: str
    format: str


class AudioPart(_Input):
    """An audio input, in the OpenAI Chat Completions shape (``input_audio``)."""

    type: Literal["input_audio"] = "input_audio"
    input_audio: InputAudio
    cache_control: CacheControl | None = None

    @classmethod
    def from_base64(cls, data: str, format: str) -> "AudioPart":
        """Audio sent inline; ``format`` is ``"wav"``, ``"mp3"``, ... (see AUDIO_FORMATS)."""
        return cls(input_audio=InputAudio(data=data, format=format))

    def mime_type(self) -> str:
        """The MIME type of the audio's format (``audio/wav`` for ``wav``), as Gemini and the
        telemetry parts want it; ``application/octet-stream`` for a format not in the table."""
        return AUDIO_FORMATS.get(self.input_audio.format, "application/octet-stream")


ContentPart = TextPart | ImagePart | DocumentPart | AudioPart
