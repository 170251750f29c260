"""2D Sprites (Reed et al. 2015): class = character. `--config=configs/sprites.py`.

Built by dvae_jax/data/datasets/sprites.py from the authors' archive, downloaded
when the network allows, else from manual_dir (`--config.manual_dir=DIR`
holding data/sprites/ or the archive). Test characters are never seen in
training. A copy with some characters missing builds from those present
(docs/DATASETS.md); no split used here needs the validation characters.
Numbers follow the authors' code (configs/default.py). The default method
is `:two_step` (the paper's method with the two-step method's s), ahead of
the paper's method on both halves of the analogy score over three seeds
(docs/RESULTS.md); `:paper` trains the paper's method.
"""
from configs import default

METHOD = 'two_step'  # when the variant names no method


def get_config(variant: str = ''):
  config = default.get_config(default.with_method(variant, METHOD))
  config.dataset = 'dvae_sprites'
  config.channels = 3
  config.resize = 'resize'  # 60 -> 32, as the authors' code does
  config.factor_keys = ('action', 'viewpoint', 'frame')
  # A tenth of the frames of each training character (not 'validation').
  config.heldout_split = 'heldout'
  config.test_split = 'test'  # unseen characters
  if 'tiny' not in default.variants(variant):
    config.model.width = 14  # nF = 14 for Sprites in the code
    # z 512, s 64: the code's defaults, also Jha et al.'s Sprites dims.
    config.model.s_dim = 64
    config.model.z_dim = 512
  return config
