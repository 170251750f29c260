"""Measures of disentanglement on a trained model."""
