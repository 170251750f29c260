"""Built-in datasets. Importing this package registers the tfds builders."""

from dvae_jax.datasets import glyphs  # noqa: F401  registers the tfds builder
