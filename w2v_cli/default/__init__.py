"""The embedded default: a synthetic corpus with planted analogies and the config that trains it."""
