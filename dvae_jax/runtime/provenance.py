"""What a run was made with: package versions, for the workdir's run records."""
import importlib.metadata
import platform
import sys

PACKAGES = ('dvae_jax', 'jax', 'jaxlib', 'flax', 'optax', 'orbax-checkpoint',
            'tensorflow-datasets', 'tensorflow', 'tensorflow-cpu',
            'ml-collections', 'clu', 'numpy')


def versions() -> dict:
  """{package: version} for the packages a result depends on, plus python."""
  found = {'python': sys.version.split()[0], 'platform': platform.platform()}
  for name in PACKAGES:
    try:
      found[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
      pass  # e.g. tensorflow is installed as tensorflow-cpu
  return found
