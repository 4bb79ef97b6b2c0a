"""The embedded default: answers without any API key (offline classifier, composer, summariser)."""
