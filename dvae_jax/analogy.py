"""`python -m dvae_jax.analogy`: the analogy command, dvae_jax/cli/analogy.py."""
import runpy

if __name__ == '__main__':
  runpy.run_module('dvae_jax.cli.analogy', run_name='__main__', alter_sys=True)
