"""Data: tfds builders, and tf.data triplet batches from them."""
