"""Azure OpenAI: the built-in ``azure_openai`` provider, OpenAI's wire format on an Azure resource.

The registry builds it through :func:`create` (``"metallm.providers.azure_openai:create"``).
:class:`AzureEndpoint` (URLs), :class:`AzureAuth` (``api-key`` or Entra ID token) and
:class:`AzureOpenAICodec` (the Azure half of a codec) are public for other codecs on Azure.
"""

from ._auth import KEY_ENV, REFRESH_MARGIN, TOKEN_PROVIDER, AzureAuth
from ._endpoint import API_SHAPES, DEFAULT_API_VERSION, ENDPOINT_ENV, AzureEndpoint
from ._factory import create
from ._filter import AzureStreamDecoder, filtered, parse_azure_completion
from .codec import SEMCONV_NAME, AzureOpenAICodec, AzureOpenAIProvider

__all__ = [
    "API_SHAPES",
    "DEFAULT_API_VERSION",
    "ENDPOINT_ENV",
    "KEY_ENV",
    "REFRESH_MARGIN",
    "SEMCONV_NAME",
    "TOKEN_PROVIDER",
    "AzureAuth",
    "AzureEndpoint",
    "AzureOpenAICodec",
    "AzureOpenAIProvider",
    "AzureStreamDecoder",
    "create",
    "filtered",
    "parse_azure_completion",
]
