"""Image grids: numpy arrays in, PNG files or arrays out."""
import io

import numpy as np
from PIL import Image

from dvae_jax.runtime import workdir


def tile(images: np.ndarray, pad: int = 1, pad_value: int = 255) -> np.ndarray:
  """(R, K, H, W, C) uint8 -> one (R*(H+pad)+pad, K*(W+pad)+pad, C) image."""
  r, k, h, w, c = images.shape
  out = np.full((r * (h + pad) + pad, k * (w + pad) + pad, c), pad_value,
                np.uint8)
  for i in range(r):
    for j in range(k):
      y, x = pad + i * (h + pad), pad + j * (w + pad)
      out[y:y + h, x:x + w] = images[i, j]
  return out


def swap_figure(s_images, z_images, swaps) -> np.ndarray:
  """The swap grid with its sources: the top row shows the z sources, the
  left column the s sources, cell (i, j) is Dec(s_i, z_j).

  s_images (R, H, W, C), z_images (K, H, W, C), swaps (R, K, H, W, C).
  """
  r, k = swaps.shape[:2]
  blank = np.full_like(z_images[:1], 255)
  top = np.concatenate([blank, z_images])[None]  # (1, K+1, ...)
  rows = np.concatenate([s_images[:, None], swaps], axis=1)  # (R, K+1, ...)
  return tile(np.concatenate([top, rows]), pad=1)


def to_pil(image: np.ndarray, scale: int = 3) -> Image.Image:
  """An (H, W, C) uint8 image as a PIL image, enlarged `scale` times (nearest)."""
  image = np.asarray(image)
  if image.shape[-1] == 1:
    image = image[..., 0]
  img = Image.fromarray(image)
  if scale > 1:
    img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
  return img


def save_png(image: np.ndarray, path: str, scale: int = 3) -> None:
  """Writes an (H, W, C) uint8 image, enlarged `scale` times (nearest), to
  path (gs:// too) at once, creating its folder (runtime/workdir.py)."""
  buffer = io.BytesIO()
  to_pil(image, scale).save(buffer, format='PNG')
  workdir.write_bytes(path, buffer.getvalue())


def show(image: np.ndarray, scale: int = 3) -> None:
  """Shows an (H, W, C) uint8 image in a notebook (IPython); where IPython
  is missing (a script, CI), prints its size instead."""
  img = to_pil(image, scale)
  try:
    from IPython.display import display  # pylint: disable=import-outside-toplevel
  except ImportError:
    print(f'[image {img.width}x{img.height}]')
    return
  display(img)
