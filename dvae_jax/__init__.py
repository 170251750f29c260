"""dvae_jax: Mathieu et al. (NIPS 2016), adversarially disentangled s and z, in JAX."""
__version__ = '0.1.0'
