"""A dataset whose features do not fit the method fails with the fix."""
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from configs import default
from dvae_jax.data import pipeline
from dvae_jax.runtime import errors


def _features(image=(32, 32, 3), num_classes=5, label='class_label'):
  image_feature = (tfds.features.Image(shape=image) if len(image) == 3 else
                   tfds.features.Tensor(shape=image, dtype=tf.uint8))
  label_feature = (tfds.features.ClassLabel(num_classes=num_classes)
                   if label == 'class_label' else
                   tfds.features.Tensor(shape=(), dtype=tf.int64))
  return tfds.features.FeaturesDict({'image': image_feature,
                                     'label': label_feature})


def test_fitting_features_pass():
  config = default.get_config('tiny')
  pipeline.check_features(config, _features())
  pipeline.check_features(config, _features(image=(28, 28, 1)))  # to RGB


@pytest.mark.parametrize('features,overrides,message', [
    (_features(image=(28, 28)), {},
     r"images of 'dvae_glyphs/res32' have shape \(28, 28\); dvae_jax needs "
     r'\(height, width, channels\) images'),
    (_features(image=(32, 32, 4)), {},
     r'have 4 channels and config.channels=3; only 1 <-> 3 channels are '
     r'converted: set --config.channels=4 or convert'),
    (_features(image=(32, 32, 3)), {'channels': 2}, r'have 3 channels and '
     r'config.channels=2'),
    (_features(num_classes=1), {},
     r'has 1 class; the method needs at least two classes'),
    (_features(label='int'), {},
     r"feature 'label' of 'dvae_glyphs/res32' is not a class label"),
    (_features(), {'image_key': 'img'},
     r"has no feature 'img' \(it has \['image', 'label'\]\); set "
     r'--config.image_key to one of them'),
])
def test_bad_features_are_user_errors(features, overrides, message):
  config = default.get_config('tiny')
  config.update(overrides)
  with pytest.raises(errors.UserError, match=message):
    pipeline.check_features(config, features)
