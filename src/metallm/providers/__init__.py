"""Built-in providers, one package each; registered lazily by metallm.provider registry."""
