"""Single-image analogies on your own pictures, from a trained workdir.

  python -m dvae_jax.analogy --workdir=DIR --identity=a.png --pose=b.png \\
      --out=c.png

writes Dec(s of a.png, z of b.png): a.png's identity in b.png's pose, style
and lighting. With several images,

  python -m dvae_jax.analogy --workdir=DIR --identity=a.png,b.png \\
      --pose=c.png,d.png,e.png --out=grid.png

writes the swap grid: the top row shows the pose images, the left column the
identity images, cell (i, j) is Dec(s_i, z_j).

The model and its config come from DIR (config.json and the newest
checkpoint, read-only; no dataset needed). Images may be in any format Pillow
reads (PNG, JPEG, GIF, BMP, TIFF, WebP, ...) or .npy uint8 arrays (H, W) or
(H, W, C); they are converted to the model's channels (grey <-> RGB, alpha
dropped) and an image of another size is resized to the model's size (square
images keep their shape; others are stretched), with a warning.
"""
import os
from typing import Sequence

from dvae_jax.cli import common  # first: it quiets TensorFlow

import numpy as np  # noqa: E402
from absl import app, flags, logging  # noqa: E402
from PIL import Image, UnidentifiedImageError  # noqa: E402

from dvae_jax.runtime import errors  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string('workdir', None, 'The workdir of a training run (holds '
                    'config.json and checkpoints/).')
flags.DEFINE_list('identity', None, 'Image file(s) whose identity (s) is '
                  'kept; comma-separated for a grid (one row each).')
flags.DEFINE_list('pose', None, 'Image file(s) whose pose, style and '
                  'lighting (z) are kept; comma-separated for a grid (one '
                  'column each).')
flags.DEFINE_string('out', None, 'The PNG to write.')
flags.DEFINE_integer('scale', 3, 'Enlarge the written PNG this many times '
                     '(nearest neighbour).', lower_bound=1)
flags.mark_flags_as_required(['workdir', 'identity', 'pose', 'out'])

_FIX = ('pass a PNG, JPEG or other image file Pillow reads, or a .npy uint8 '
        'array (H, W) or (H, W, C)')


def _array_to_image(array: np.ndarray, path: str) -> Image.Image:
  if array.ndim == 3 and array.shape[-1] == 1:
    array = array[..., 0]
  if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in
                                  (3, 4)):
    raise errors.UserError(
        f'image {path!r} has shape {array.shape}, not (H, W), (H, W, 1), '
        f'(H, W, 3) or (H, W, 4): {_FIX}')
  if array.dtype != np.uint8:
    raise errors.UserError(f'image {path!r} has dtype {array.dtype}, not '
                           f'uint8: {_FIX}')
  return Image.fromarray(array)


def read_image(path: str, image_size: int, channels: int) -> np.ndarray:
  """One image file -> (image_size, image_size, channels) uint8, as the
  model sees it. Raises errors.UserError naming the file and the fix."""
  try:
    if path.endswith('.npy'):
      img = _array_to_image(np.load(path, allow_pickle=False), path)
    else:
      with Image.open(path) as img:
        img.load()
  except errors.UserError:
    raise
  except FileNotFoundError as e:
    raise errors.UserError(f'image {path!r} does not exist: check the path '
                           '(--identity and --pose take comma-separated '
                           'files)') from e
  except Exception as e:  # pylint: disable=broad-except
    if isinstance(e, UnidentifiedImageError):
      reason = 'not an image format Pillow knows'
    elif isinstance(e, OSError) and e.strerror:
      reason = e.strerror
    else:
      reason = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
    raise errors.UserError(f'cannot read image {path!r} ({reason}): '
                           f'{_FIX}') from e
  img = img.convert('L' if channels == 1 else 'RGB')
  if img.size != (image_size, image_size):
    shape = 'resized' if img.width == img.height else 'stretched'
    logging.warning('image %s is %dx%d; %s to the model\'s %dx%d', path,
                    img.width, img.height, shape, image_size, image_size)
    img = img.resize((image_size, image_size), Image.BILINEAR)
  array = np.asarray(img, np.uint8)
  return array[..., None] if array.ndim == 2 else array


def read_images(paths: Sequence[str], config) -> np.ndarray:
  """(N, H, W, C) uint8 at the model's size and channels."""
  return np.stack([read_image(p, config.image_size, config.channels)
                   for p in paths])


def analogy(model, identity: np.ndarray, pose: np.ndarray) -> np.ndarray:
  """Dec(s of identity, z of pose): (H, W, C) uint8 images -> (H, W, C)."""
  return model.swap_grid(identity[None], pose[None])[0, 0]


def analogy_grid(model, identities: np.ndarray, poses: np.ndarray
                 ) -> np.ndarray:
  """The swap grid with its sources (visualize.swap_figure):
  (R, H, W, C), (K, H, W, C) -> one image of (R+1) x (K+1) cells."""
  from dvae_jax.evaluation import visualize
  return visualize.swap_figure(identities, poses,
                               model.swap_grid(identities, poses))


def run(workdir: str, identity: Sequence[str], pose: Sequence[str], out: str,
        scale: int = 3) -> np.ndarray:
  """The command: writes `out` and returns the image (before scaling)."""
  from dvae_jax.evaluation import inference, visualize
  if not identity or not pose:
    raise errors.UserError('pass at least one image to --identity and one to '
                           '--pose')
  # The images first: a typo fails before the model is loaded.
  config = inference.load_config(workdir)
  identities = read_images(identity, config)
  poses = read_images(pose, config)
  loaded = inference.load_model(workdir, config)
  logging.info('Loaded the checkpoint of step %d from %s', loaded.step,
               workdir)
  if len(identities) == 1 and len(poses) == 1:
    image = analogy(loaded.model, identities[0], poses[0])
  else:
    image = analogy_grid(loaded.model, identities, poses)
  out_dir = os.path.dirname(os.path.abspath(out))
  try:
    os.makedirs(out_dir, exist_ok=True)
    visualize.save_png(image, out, scale=scale)
  except OSError as e:
    raise errors.UserError(f'cannot write {out!r} ({e.strerror or e}): pass '
                           '--out=a file in a directory you can write to'
                           ) from e
  logging.info('Wrote %s', out)
  return image


def main():
  common.import_tensorflow()  # the model's modules import it (data/pipeline)
  run(FLAGS.workdir, FLAGS.identity, FLAGS.pose, FLAGS.out, FLAGS.scale)
  print(FLAGS.out)


if __name__ == '__main__':
  common.run(main)
