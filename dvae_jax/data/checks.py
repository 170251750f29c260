"""Checks that a dataset's features fit the method, before anything is read."""
from dvae_jax.runtime import errors


def check_features(config, features) -> None:
  """Raises a UserError naming the problem and the fix; `features` is a
  tfds FeaturesDict (builder.info.features)."""
  name = config.dataset
  for key, flag in ((config.image_key, 'image_key'),
                    (config.label_key, 'label_key')):
    if key not in features:
      raise errors.UserError(
          f'dataset {name!r} has no feature {key!r} (it has '
          f'{sorted(features.keys())}); set --config.{flag} to one of them')
  num_classes = getattr(features[config.label_key], 'num_classes', None)
  if not num_classes:
    raise errors.UserError(
        f'feature {config.label_key!r} of {name!r} is not a class label; set '
        '--config.label_key to a tfds ClassLabel feature')
  if num_classes < 2:
    raise errors.UserError(
        f'dataset {name!r} has {num_classes} class; the method needs at least '
        'two classes (x3 must be able to differ from x1): use another dataset')
  shape = tuple(features[config.image_key].shape)
  if len(shape) != 3:
    raise errors.UserError(
        f'images of {name!r} have shape {shape}; dvae_jax needs (height, '
        'width, channels) images: set --config.image_key to such a feature '
        'or add a channel axis to the dataset')
  channels = shape[-1]
  convertible = (1, 3)  # grayscale <-> RGB
  if channels is not None and channels != config.channels and not (
      channels in convertible and config.channels in convertible):
    raise errors.UserError(
        f'images of {name!r} have {channels} channels and config.channels='
        f'{config.channels}; only 1 <-> 3 channels are converted: set '
        f'--config.channels={channels} or convert the images to 1 or 3 '
        'channels')
