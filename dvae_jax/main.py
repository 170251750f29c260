"""`python -m dvae_jax.main`: the training command, dvae_jax/cli/main.py."""
import runpy

if __name__ == '__main__':
  runpy.run_module('dvae_jax.cli.main', run_name='__main__', alter_sys=True)
