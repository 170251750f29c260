"""Built-in datasets. Importing this package registers the tfds builders."""

# Each module registers its tfds builder on import.
from dvae_jax.data.datasets import folder  # noqa: F401  your own images
from dvae_jax.data.datasets import glyphs  # noqa: F401  procedural, built in code
from dvae_jax.data.datasets import sprites  # noqa: F401  2D Sprites (Reed et al.)
from dvae_jax.data.datasets import yaleb  # noqa: F401  Extended Yale B
