"""Every config value checked before anything is built: one table of rules.

`check(config)` runs RULES in order and raises one UserError for the first
value that breaks its rule, naming the key, the value and what is allowed:

  config.image_size=30 is not a multiple of 8 that is at least 8; set
  --config.image_size to such a value

A rule between keys names both (`eval.kid_subset_size` at most
`eval.quality_examples`). Keys a config lacks are skipped (older config
files); tests/test_config_rules.py keeps the table covering every key of
configs/*.py.
"""
import dataclasses
import math
from typing import Any, Callable

from dvae_jax.model.networks import ADVERSARIES, NUM_DOWNSAMPLINGS
from dvae_jax.runtime import errors

RESIZE_MODES = ('resize', 'pad')
DTYPES = ('float32', 'bfloat16', 'float16')
# The networks halve an image NUM_DOWNSAMPLINGS times and need a pixel left.
IMAGE_MULTIPLE = 2**NUM_DOWNSAMPLINGS


@dataclasses.dataclass(frozen=True)
class Rule:
  """`ok(value, config)` is True for the values `allowed` describes."""
  key: str
  allowed: str  # completes "config.KEY=VALUE is not ..."
  ok: Callable[[Any, Any], bool]
  fix: str = 'such a value'  # completes "set --config.KEY to ..."


def _is_int(v) -> bool:
  return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
  return (isinstance(v, (int, float)) and not isinstance(v, bool) and
          math.isfinite(v))


def _int_at_least(key: str, low: int) -> Rule:
  return Rule(key, f'an integer >= {low}', lambda v, _: _is_int(v) and v >= low)


def _number(key: str, allowed: str, test: Callable[[float], bool]) -> Rule:
  return Rule(key, f'a finite number {allowed}',
              lambda v, _: _is_number(v) and test(v))


def _one_of(key: str, values: tuple) -> Rule:
  return Rule(key, f'one of {values}', lambda v, _: v in values, 'one of them')


def _text(key: str, optional: bool = False) -> Rule:
  allowed = 'None or a non-empty string' if optional else 'a non-empty string'
  return Rule(key, allowed, lambda v, _: (v is None and optional) or (
      isinstance(v, str) and bool(v)))


def _get(config, key: str):
  """config's value at a dotted key; _MISSING if it has none."""
  node = config
  for part in key.split('.'):
    if not hasattr(node, 'keys') or part not in node.keys():
      return _MISSING
    node = node[part]
  return node


_MISSING = object()

RULES = (
    _int_at_least('seed', 0),
    _text('dataset'),
    _text('data_dir', optional=True),
    _text('data_path', optional=True),
    _int_at_least('test_classes', 0),
    _text('manual_dir', optional=True),
    _text('image_key'),
    _text('label_key'),
    Rule('factor_keys', 'a tuple of feature names',
         lambda v, _: isinstance(v, (tuple, list)) and all(
             isinstance(k, str) and k for k in v)),
    _text('train_split'),
    _text('heldout_split'),
    _text('test_split'),
    Rule('image_size',
         f'a multiple of {IMAGE_MULTIPLE} that is at least {IMAGE_MULTIPLE}',
         lambda v, _: _is_int(v) and v >= IMAGE_MULTIPLE and
         v % IMAGE_MULTIPLE == 0),
    _int_at_least('channels', 1),
    _one_of('resize', RESIZE_MODES),
    _int_at_least('batch_size', 1),
    _int_at_least('model.width', 1),
    _int_at_least('model.s_dim', 1),
    _int_at_least('model.z_dim', 1),
    _int_at_least('model.disc_width', 1),
    _number('model.disc_dropout', 'in [0, 1)', lambda v: 0 <= v < 1),
    _one_of('model.dtype', DTYPES),
    Rule('model.weight_grad_chunk',
         'None (automatic), 0 (whole batch) or a number of images >= 1',
         lambda v, _: v is None or (_is_int(v) and v >= 0)),
    _one_of('adversary', ADVERSARIES),
    _number('loss.reconstruction', '>= 0', lambda v: v >= 0),
    _number('loss.swap', '>= 0', lambda v: v >= 0),
    _number('loss.adversarial', '>= 0', lambda v: v >= 0),
    _number('loss.kl', '>= 0', lambda v: v >= 0),
    _number('loss.real_target', 'in (0, 1]', lambda v: 0 < v <= 1),
    _number('loss.s_classifier', '>= 0', lambda v: v >= 0),
    # A separate s encoder learns from the s classifier alone.
    Rule('model.separate_s_encoder',
         'True or False, and True only with loss.s_classifier > 0',
         lambda v, c: isinstance(v, bool) and (
             not v or _get(c, 'loss.s_classifier') not in (_MISSING, 0)),
         'False, or set --config.loss.s_classifier > 0'),
    _number('loss.z_independence', '>= 0', lambda v: v >= 0),
    _number('learning_rate', '> 0', lambda v: v > 0),
    _number('disc_learning_rate', '> 0', lambda v: v > 0),
    _number('b1', 'in [0, 1)', lambda v: 0 <= v < 1),
    _int_at_least('num_train_steps', 1),
    Rule('s_pretrain_steps', 'an integer >= 0, below num_train_steps, and 0 '
         'unless model.separate_s_encoder is True',
         lambda v, c: _is_int(v) and v >= 0 and (v == 0 or (
             _get(c, 'model.separate_s_encoder') is True and
             v < _get(c, 'num_train_steps'))),
         '0, or a smaller number with --config.model.separate_s_encoder=True'),
    Rule('skip_nonfinite_updates', 'True or False',
         lambda v, _: isinstance(v, bool)),
    # Which names are families is evaluation's to say (families.select, run
    # with these rules by training, evaluation and the check mode).
    Rule('eval.metrics', 'a tuple of metric family names',
         lambda v, _: isinstance(v, (tuple, list)) and all(
             isinstance(k, str) and k for k in v)),
    _int_at_least('log_every_steps', 1),
    _int_at_least('image_every_steps', 1),
    _int_at_least('checkpoint_every_steps', 1),
    _int_at_least('keep_checkpoints', 1),
    _int_at_least('eval.batch_size', 1),
    _int_at_least('eval.probe_train_examples', 1),
    _int_at_least('eval.grid_size', 1),
    _int_at_least('eval.heldout_examples', 1),
    _int_at_least('eval.test_examples', 1),
    _int_at_least('eval.mlp_probe_epochs', 1),
    _int_at_least('eval.num_pairs', 1),
    _int_at_least('eval.truth_poses', 2),  # pose retrieval needs a choice
    _int_at_least('eval.s_group_images', 0),
    _int_at_least('eval.factor_examples', 2),
    _int_at_least('eval.forest_trees', 1),
    _int_at_least('eval.forest_depth', 1),
    _int_at_least('eval.mig_bins', 2),
    _int_at_least('eval.quality_examples', 2),
    _int_at_least('eval.kid_subsets', 1),
    _int_at_least('eval.kid_subset_size', 2),  # unbiased MMD needs 2
    # KID draws its subsets from the FD/KID image set.
    Rule('eval.kid_subset_size', 'at most eval.quality_examples',
         lambda v, c: _get(c, 'eval.quality_examples') in (_MISSING, None) or
         v <= _get(c, 'eval.quality_examples')),
    _int_at_least('eval.figure_steps', 2),  # an interpolation's two ends
    _int_at_least('eval.classifier_steps', 1),
    _int_at_least('eval.classifier_batch_size', 1),
    _number('eval.classifier_learning_rate', '> 0', lambda v: v > 0),
    _int_at_least('eval.classifier_seed', 0),
    Rule('eval.classifier_dir',
         "a directory, or '' for workdir/eval/classifier",
         lambda v, _: isinstance(v, str)),
)


def check(config) -> None:
  """Raises errors.UserError naming the first value that breaks a rule."""
  for rule in RULES:
    value = _get(config, rule.key)
    if value is _MISSING:
      continue
    try:
      ok = rule.ok(value, config)
    except TypeError:  # e.g. a string compared with a number
      ok = False
    if not ok:
      raise errors.UserError(
          f'config.{rule.key}={value!r} is not {rule.allowed}; set '
          f'--config.{rule.key} to {rule.fix}')
