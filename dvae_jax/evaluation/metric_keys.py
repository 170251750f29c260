"""The one table of metrics.json keys: each key's title and kind, its
report.md section, and whether summary.json and compare's default table
show it. report.py, evaluate.summary and cli/compare.py all read it; a new
metric adds its rows here (docs/EXTENDING.md).

A `{word}` in a key stands for one name: a probe, a code, a factor, an image
set. A key is looked up exactly first, then against the patterns in order.
"""
import dataclasses
import functools
import re
from typing import Optional

PCT = 'pct'  # a fraction, shown in %
NUM = 'num'  # a value: an error, a distance, a score
COUNT = 'count'  # a whole number

# What the probe and quality families compute, in the order shown.
PROBE_FITS = ('linear', 'mlp')
PROBE_CODES = ('s', 'z_mean', 'z_sample')
IMAGE_SETS = ('real', 'reconstruction', 'prior', 'swap')


@dataclasses.dataclass(frozen=True)
class Metric:
  """One metrics.json key (or a pattern of them) and how it is shown."""
  key: str
  title: str
  kind: str = NUM
  # report.md section that lists it as a 'measure | value' row; '' when the
  # report lays it out in a grid (probes, factors, quality) or not at all.
  section: str = ''
  summary: str = ''  # its key in summary.json, '' when not there
  column: str = ''  # its column in compare's default table, '' when not there


METRICS = (
    # Identity probes (a probe x code grid in report.md); the headline ones
    # first, before the patterns that also match them.
    Metric('probe/linear/s/train', 'train', PCT, summary='s_probe_train'),
    Metric('probe/linear/s/heldout', 'held-out', PCT,
           summary='s_probe_heldout', column='s linear probe'),
    Metric('probe/linear/z_mean/train', 'train', PCT, summary='z_probe_train'),
    Metric('probe/linear/z_mean/heldout', 'held-out', PCT,
           summary='z_probe_heldout', column='z_mean linear probe'),
    Metric('probe/mlp/z_mean/heldout', 'held-out', PCT,
           column='z_mean MLP probe'),
    Metric('probe/{probe}/{code}/train', 'train', PCT),
    Metric('probe/{probe}/{code}/heldout', 'held-out', PCT),
    Metric('probe/chance', 'chance', PCT, summary='probe_chance'),
    Metric('probe/num_identities', 'training identities', COUNT,
           summary='num_identities'),
    # Where in z the probe finds identity (evaluation/dimensions.py).
    Metric('dims/active', 'active z dimensions (>= 0.5 nats)', COUNT,
           'dimensions'),
    Metric('dims/kl_total', 'KL of z, nats (all dimensions)', NUM,
           'dimensions'),
    Metric('dims/kl_inactive', 'KL of the inactive dimensions, nats', NUM,
           'dimensions'),
    Metric('dims/probe_active', 'z_mean linear probe, active dimensions',
           PCT, 'dimensions'),
    Metric('dims/probe_inactive', 'z_mean linear probe, the others', PCT,
           'dimensions'),
    Metric('baseline/train', 'supervised baseline, train', PCT),
    Metric('baseline/heldout', 'supervised baseline, held-out', PCT),
    # Swaps of held-out images, named by the judge.
    Metric('swap/accuracy', 'judge says a (swap accuracy)', PCT, 'swaps',
           column='judge: swap shows s identity'),
    Metric('swap/leak', 'judge says b (leak rate)', PCT, 'swaps'),
    Metric('swap/same_class_mse', 'same-class swap MSE', NUM, 'swaps'),
    Metric('swap/reconstruction_mse', 'reconstruction MSE (reference)', NUM,
           'swaps'),
    # Unseen identities.
    Metric('unseen/retrieval_s', 'nearest-neighbour retrieval from s', PCT,
           'unseen', column='s retrieval, unseen'),
    Metric('unseen/retrieval_z_mean', 'nearest-neighbour retrieval from z',
           PCT, 'unseen', column='z retrieval, unseen'),
    Metric('unseen/retrieval_chance', 'retrieval chance', PCT, 'unseen'),
    Metric('unseen/reconstruction_mse', 'reconstruction MSE', NUM, 'unseen',
           summary='test_reconstruction_mse', column='recon. MSE, unseen'),
    # Swaps of unseen identities against the truth (evaluation/analogies.py).
    Metric('analogy/score', 'analogy score (1: as good as reconstructing '
           'the truth, 0: no better than copying an input)', NUM, 'analogy',
           summary='analogy_score', column='analogy score, unseen'),
    Metric('analogy/mse/swap', 'MSE of the swap', NUM, 'analogy'),
    Metric('analogy/mse/copy_s', 'MSE copying the s source', NUM, 'analogy'),
    Metric('analogy/mse/copy_z', 'MSE copying the z source', NUM, 'analogy'),
    Metric('analogy/mse/reconstruction', 'MSE of Dec(Enc(truth))', NUM,
           'analogy'),
    Metric('analogy/ssim/swap', 'SSIM of the swap', NUM, 'analogy'),
    Metric('analogy/ssim/copy_s', 'SSIM copying the s source', NUM, 'analogy'),
    Metric('analogy/ssim/copy_z', 'SSIM copying the z source', NUM, 'analogy'),
    Metric('analogy/ssim/reconstruction', 'SSIM of Dec(Enc(truth))', NUM,
           'analogy'),
    Metric('analogy/pose', "pose retrieval: a's nearest image has b's "
           'nuisances', PCT, 'analogy', summary='analogy_pose_retrieval',
           column='pose retrieval, unseen'),
    Metric('analogy/pose_chance', 'pose retrieval chance', PCT, 'analogy'),
    Metric('analogy/identity', 'identity retrieval: the nearest image at '
           "b's nuisances is a's", PCT, 'analogy',
           summary='analogy_identity_retrieval',
           column='identity retrieval, unseen'),
    Metric('analogy/identity_chance', 'identity retrieval chance', PCT,
           'analogy'),
    Metric('analogy/reconstruction_pose', 'pose retrieval of Dec(Enc(truth)) '
           "(the swap's ceiling)", PCT, 'analogy'),
    Metric('analogy/reconstruction_identity', 'identity retrieval of '
           'Dec(Enc(truth))', PCT, 'analogy'),
    Metric('analogy/own_s_pose', 'pose retrieval of Dec(s_t, z_b) (s '
           'from the truth itself)', PCT, 'analogy'),
    Metric('analogy/own_s_identity', 'identity retrieval of Dec(s_t, z_b): '
           'what z_b leaves of a swap with a perfect s', PCT, 'analogy'),
    Metric('analogy/group_s_pose', 'pose retrieval of Dec(mean s of a, z_b)',
           PCT, 'analogy'),
    Metric('analogy/group_s_identity', 'identity retrieval of Dec(mean s of '
           'a, z_b) (s averaged over eval.s_group_images images)', PCT,
           'analogy'),
    Metric('analogy/pairs', 'pairs scored', COUNT, 'analogy'),
    Metric('analogy/pairs_without_truth', 'pairs drawn without a true image '
           '(skipped)', COUNT, 'analogy'),
    Metric('analogy/pose/{nuisance}', 'pose retrieval', PCT),
    Metric('analogy/pose_chance/{nuisance}', 'chance', PCT),
    # Style of the swaps where no nuisance is known (evaluation/morphometry.py).
    Metric('style/slant_r', "slant of the swap vs the z source's (Pearson r)",
           NUM, 'style', summary='style_slant_r', column='slant r'),
    Metric('style/thickness_r', "thickness of the swap vs the z source's",
           NUM, 'style', summary='style_thickness_r', column='thickness r'),
    Metric('style/slant_r_s_source', "slant of the s source vs the z "
           "source's (no style carried)", NUM, 'style'),
    Metric('style/thickness_r_s_source', 'thickness, the same', NUM, 'style'),
    Metric('style/slant_r_reconstruction', "slant of Dec(Enc(z source)) vs "
           "the z source's (the decoder's best)", NUM, 'style'),
    Metric('style/thickness_r_reconstruction', 'thickness, the same', NUM,
           'style'),
    # Nuisance factors: the {factor} patterns are the columns of a grid with
    # a row per factor, in this order.
    Metric('factors/r2_z_mean/{factor}', 'R^2 from z'),
    Metric('factors/r2_s/{factor}', 'R^2 from s'),
    Metric('dci/identity_in_s', 'identity share in s (block DCI)', NUM,
           'factors'),
    Metric('dci/disentanglement', 'block disentanglement', NUM, 'factors'),
    Metric('dci/completeness', 'block completeness', NUM, 'factors'),
    Metric('dci/{factor}_in_z', 'share in z'),
    Metric('mig/identity', 'MIG of identity', NUM, 'factors'),
    Metric('mig/mean', 'MIG mean', NUM, 'factors'),
    Metric('mig/{factor}', 'MIG'),
    # Sample quality: a row per image set.
    Metric('quality/fd_{images}', 'Frechet distance'),
    Metric('quality/kid_{images}', 'KID'),
)


def _pattern(key: str) -> re.Pattern:
  return re.compile(re.sub(r'\\\{\w+\\\}', '[^/]+', re.escape(key)))


@functools.lru_cache(maxsize=None)
def find(key: str) -> Optional[Metric]:
  """The table's row of a metrics.json key; None for a key it lacks."""
  exact = [m for m in METRICS if m.key == key]
  if exact:
    return exact[0]
  return next((m for m in METRICS if '{' in m.key and
               _pattern(m.key).fullmatch(key)), None)


def kind(key: str) -> str:
  """PCT, NUM or COUNT; NUM for a key the table lacks."""
  row = find(key)
  return row.kind if row else NUM


def with_word(word: str) -> tuple:
  """The rows whose key is a pattern of `{word}`, in table order."""
  return tuple(m for m in METRICS if f'{{{word}}}' in m.key)


def summary(metrics: dict) -> dict:
  """summary.json's keys from the metrics present, and the step."""
  return {**{m.summary: metrics[m.key] for m in METRICS
             if m.summary and m.key in metrics}, 'step': metrics['step']}
