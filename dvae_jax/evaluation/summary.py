"""The end-of-training summary: reconstruction error on unseen identities and
identity probes on s and z for held-out images of training identities."""
import numpy as np

from dvae_jax import input_pipeline
from dvae_jax.evaluation import probes
from dvae_jax.inference import Model


def reconstruction_mse(model: Model, images: np.ndarray) -> float:
  """Mean squared error in [-1, 1] pixel units of Dec(Enc(x)), x (N, H, W, C) uint8."""
  s, z, _ = model.encode(images)
  recon = model.decode(s, z)
  to_unit = lambda x: x.astype(np.float32) / 127.5 - 1
  return float(np.mean(np.square(to_unit(recon) - to_unit(images))))


def summarize(model: Model, train: input_pipeline.SplitData,
              heldout: input_pipeline.SplitData,
              test: input_pipeline.SplitData, seed: int) -> dict:
  """Probes fitted on codes of `train`, scored on `heldout`; MSE on `test`."""
  s_train, z_train, _ = model.encode(train.images)
  s_held, z_held, _ = model.encode(heldout.images)
  result = {
      'test_reconstruction_mse': reconstruction_mse(model, test.images),
      'probe_chance': probes.chance_accuracy(train.labels, heldout.labels),
      'num_identities': int(len(np.unique(train.labels))),
  }
  for name, fit, held in (('s', s_train, s_held), ('z', z_train, z_held)):
    acc = probes.logistic_probe(fit, train.labels, held, heldout.labels, seed)
    result[f'{name}_probe_train'] = acc['train']
    result[f'{name}_probe_heldout'] = acc['test']
  return result
