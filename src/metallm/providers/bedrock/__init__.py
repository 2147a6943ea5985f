"""AWS Bedrock Converse / ConverseStream, built only on the public provider interface.

Importing this package does not import botocore; a :class:`BedrockProvider` imports it when
it is constructed (SigV4 signing) and when a stream decoder is made (event-stream framing).
Inject it with ``metallm.Client(custom_provider=BedrockProvider(region="us-east-1"))``.
"""

from .codec import DEFAULT_ENDPOINT, BedrockProvider, create

__all__ = ["DEFAULT_ENDPOINT", "BedrockProvider", "create"]
