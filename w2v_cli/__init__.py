"""w2v: a command-line trainer for word2vec skip-gram embeddings.

The package is a library first; `w2v_cli.cli` is a thin click shell over it.
"""

__version__ = "0.1.0"
