"""small NORB (tfds `smallnorb`): class = category. `--config=configs/norb.py`.

Downloaded by tfds on first use. tfds keeps the official split by object
instance (train instances 4, 6, 7, 8, 9; test 0, 1, 2, 3, 5), so test objects
are never seen in training. The authors' NORB code was never released, so
the rest is their code's defaults (configs/default.py).
"""
from configs import default


def get_config(variant: str = ''):
  config = default.get_config(variant)
  config.dataset = 'smallnorb'
  config.label_key = 'label_category'  # 5 categories
  config.image_key = 'image'  # the left camera; `image2` is the right one
  config.channels = 1
  config.resize = 'resize'  # 96 -> 32: the paper brings every dataset to 32x32
  # The known nuisances, as the factors vector.
  config.factor_keys = ('label_elevation', 'label_azimuth', 'label_lighting')
  # smallnorb has only 'train' and 'test'; the test objects are unseen
  # instances of the training categories, which is what Table 1's "test"
  # column probes.
  config.heldout_split = 'test'
  config.test_split = 'test'
  return config
