"""Default config: the paper's model on the built-in glyphs dataset.

`--config=configs/default.py` trains for about 15 minutes on 2 CPU cores.
Variants, comma-separated after a colon (every dataset config takes them):
- `:tiny`, a seconds-long run for tests;
- `:paper`, the paper's method as the authors' code runs it: what every
  config trains when no method is named, except Sprites', whose default is
  `:two_step` (METHODS, below);
- `:improved`, the paper's method plus the three terms that split identity
  from z best in docs/RESULTS.md (a classifier on s, the label dependence of
  the z means, a 10x KL weight);
- `:two_step`, the paper's method with the two-step method's s (Hadad et
  al. 2018): s from an encoder of its own trained by the labels alone, for
  500 steps before the rest trains, then fixed (docs/RESULTS.md);
- `:long`, 10x the steps, for accelerators (e.g. `:improved,long`).
Numbers without a comment follow the authors' code (Mathieu et al. 2016,
github.com/MichaelMathieu/factors-variation).
"""
import ml_collections


VARIANTS = ('tiny', 'paper', 'improved', 'two_step', 'long')
# The variants that name a method; at most one per config.
METHODS = ('paper', 'improved', 'two_step')


def variants(variant: str) -> frozenset:
  """The words of `variant` ('improved,tiny' -> {'improved', 'tiny'})."""
  words = frozenset(w.strip() for w in variant.split(',') if w.strip())
  unknown = sorted(words - set(VARIANTS))
  if unknown:
    raise ValueError(f'unknown variant {unknown[0]!r} of the config; use '
                     f'any of {VARIANTS}, comma-separated, or nothing')
  methods = sorted(words & set(METHODS))
  if len(methods) > 1:
    raise ValueError(f'variants {methods[0]!r} and {methods[1]!r} name two '
                     f'methods; use at most one of {METHODS}')
  return words


def with_method(variant: str, method: str) -> str:
  """`variant` with `method` (one of METHODS) added unless it names one:
  how a dataset config sets its own default method."""
  if variants(variant) & set(METHODS):
    return variant
  return ','.join(w for w in (variant, method) if w.strip())


def get_config(variant: str = '') -> ml_collections.ConfigDict:
  words = variants(variant)
  config = ml_collections.ConfigDict()
  config.seed = 0
  for section in (_data, _networks, _losses, _schedule, _evaluation):
    section(config)
  for word, change in (('improved', _improved), ('two_step', _two_step),
                       ('long', _long), ('tiny', _tiny)):
    if word in words:
      change(config)
  return config


def _data(config) -> None:
  """What is trained on: the dataset, its splits, image size, batch."""
  config.dataset = 'dvae_glyphs/res32'
  config.data_dir = ml_collections.FieldReference(None, field_type=str)
  # Your own images instead: a folder with one sub-folder per class, or an
  # .npz with `images` and `labels`; when set, `dataset` is not used.
  config.data_path = ml_collections.FieldReference(None, field_type=str)
  # With data_path: classes held out of training, as unseen identities
  # (the 'test' split); 0 makes 'test' the held-out images of training classes.
  config.test_classes = 0
  # Where the files of a manually downloaded dataset are (tfds manual_dir);
  # None: <data_dir>/downloads/manual.
  config.manual_dir = ml_collections.FieldReference(None, field_type=str)
  config.image_key = 'image'
  config.label_key = 'label'
  # Features stacked into the known nuisance factors (e.g. NORB's
  # label_azimuth); () uses a 'factors' feature when the dataset has one.
  config.factor_keys = ()
  config.train_split = 'train'
  config.heldout_split = 'heldout'  # training identities, new nuisances
  config.test_split = 'test'  # identities never seen in training
  config.image_size = 32
  config.channels = 3
  config.resize = 'resize'  # or 'pad' (centre-pad, e.g. MNIST 28 -> 32)
  config.batch_size = 16  # global images per group; a step sees 3 groups


def _networks(config) -> None:
  """config.model: the encoder, decoder and discriminator."""
  config.model = ml_collections.ConfigDict()
  config.model.width = 16  # nF
  config.model.s_dim = 64
  config.model.z_dim = 32  # the code's 512 leaves room to hide identity in z
  config.model.disc_width = 16
  config.model.disc_dropout = 0.5
  config.model.dtype = 'float32'  # compute dtype; params stay float32
  # Beyond the paper: s from an encoder of its own, trained by the identity
  # labels alone (loss.s_classifier), never by what is decoded from it: the
  # two-step method's s (Hadad et al. 2018; s_pretrain_steps for its stages).
  config.model.separate_s_encoder = False
  # Images per chunk of the convolutions' weight gradients (model/conv.py):
  # None = 8 on one CPU device (faster there), whole batch (0) elsewhere.
  config.model.weight_grad_chunk = ml_collections.FieldReference(
      None, field_type=int)


def _losses(config) -> None:
  """The adversary and config.loss: the weights of the generator's terms."""
  # 'label' (the paper's D(x, id)), 'pair' or 'none'.
  config.adversary = 'label'
  config.loss = ml_collections.ConfigDict()
  config.loss.reconstruction = 0.5
  config.loss.swap = 1.0
  config.loss.adversarial = 0.01
  config.loss.kl = 0.1 * 6  # divided by C*H*W in the step, as in the code
  config.loss.real_target = 0.95  # one-sided label smoothing
  # Beyond the paper: a linear classifier on s trained with the labels
  # (cross-entropy), so that s carries identity from the start.
  config.loss.s_classifier = 0.0
  # Beyond the paper: the label dependence (normalized HSIC) of the z means,
  # so that z holds no identity a probe could read (model/losses.py).
  config.loss.z_independence = 0.0


def _schedule(config) -> None:
  """Optimization (Adam with beta1 = 0.5 for both players), logging and
  checkpoints (in steps)."""
  config.learning_rate = 5e-4  # the code's 0.01 diverges; successors use 1e-4..2e-4
  config.disc_learning_rate = 5e-4
  config.b1 = 0.5
  config.num_train_steps = 3000
  # With model.separate_s_encoder: the first N steps train only s and its
  # classifier, which then stay fixed while the rest trains (the two-step
  # method's stages, training/state.py); 0 trains all from the start.
  config.s_pretrain_steps = 0
  # On a NaN/Inf loss or gradient: False stops training (the newest checkpoint
  # is finite), True keeps the old state for that step and carries on.
  config.skip_nonfinite_updates = False

  # Logging and checkpoints (in steps).
  config.log_every_steps = 100
  config.image_every_steps = 1000
  config.checkpoint_every_steps = 500
  config.keep_checkpoints = 3


def _evaluation(config) -> None:
  """config.eval: the end-of-run evaluation (dvae_jax/evaluation/)."""
  config.eval = ml_collections.ConfigDict()
  # The metric families to compute (dvae_jax/evaluation/families.py), in
  # their order there; ground_truth scores swaps against the true image only
  # where the dataset knows its nuisances (the glyphs' renderer; Sprites,
  # Yale B, an .npz with `factors`), factors likewise; style (slant and
  # thickness, for digits) is configs/mnist.py's.
  config.eval.metrics = ('probes', 'dimensions', 'baseline', 'swaps',
                         'unseen', 'ground_truth', 'factors', 'quality')
  config.eval.batch_size = 256
  config.eval.probe_train_examples = 8000  # codes of train images fit the probe
  config.eval.grid_size = 8  # swap grid: 8 s sources x 8 z sources
  config.eval.heldout_examples = 2000  # probes and swaps are scored on these
  config.eval.test_examples = 2000  # unseen identities (glyphs: all 1000)
  config.eval.mlp_probe_epochs = 20
  config.eval.num_pairs = 1000  # swap pairs (cross-class and same-class)
  # ground_truth with a renderer (the glyphs): every unseen identity is drawn
  # in the nuisances of this many test images (pose retrieval chance 1/40).
  config.eval.truth_poses = 40
  # ground_truth also swaps with s averaged over this many images of a's
  # identity (the ML-VAE's group s; analogy/group_s_*); 0 or 1: not at all.
  config.eval.s_group_images = 8
  config.eval.factor_examples = 3000  # codes for R^2, block DCI and MIG
  config.eval.forest_trees = 20
  config.eval.forest_depth = 10
  config.eval.mig_bins = 20  # disentanglement_lib's default
  config.eval.quality_examples = 1000  # images per set for FD and KID
  config.eval.kid_subsets = 10
  config.eval.kid_subset_size = 500
  config.eval.figure_steps = 8  # columns of interpolations and prior samples
  # Supervised baseline = judge: the encoder trunk + a linear head.
  config.eval.classifier_steps = 1000
  config.eval.classifier_batch_size = 64
  config.eval.classifier_learning_rate = 4e-3  # 93% held-out in 1000 steps
  # Its own seed, so runs of several seeds share one judge (comparable FD/KID).
  config.eval.classifier_seed = 0
  # Cache of its parameters; '' = workdir/eval/classifier. Runs on the same
  # data may share one: the cache is keyed by data and settings.
  config.eval.classifier_dir = ''


def _improved(config) -> None:
  """The paper's method plus three terms beyond it (docs/RESULTS.md,
  "Analogies that work"): s takes identity from the labels, z's means are
  pushed to be independent of them, and z pays 10x for every nat so that
  what the labels explain is not kept twice."""
  config.loss.s_classifier = 1.0
  config.loss.z_independence = 1.0
  config.loss.kl = 6.0


def _two_step(config) -> None:
  """The two-step method's s on the paper's method: stage 1 trains s and its
  classifier alone, stage 2 the rest as many steps as the paper's run."""
  config.model.separate_s_encoder = True
  config.loss.s_classifier = 1.0
  config.s_pretrain_steps = 500
  config.num_train_steps += config.s_pretrain_steps


def _long(config) -> None:
  """10x the steps, for accelerators."""
  config.num_train_steps *= 10
  config.image_every_steps *= 10
  config.checkpoint_every_steps *= 4


def _tiny(config) -> None:
  """A seconds-long run for tests."""
  config.batch_size = 8
  config.model.width = 4
  config.model.s_dim = 8
  config.model.z_dim = 8
  config.model.disc_width = 4
  config.num_train_steps = 6
  if config.s_pretrain_steps:  # :two_step, a stage of 2 steps each
    config.s_pretrain_steps = 2
  config.log_every_steps = 2
  config.image_every_steps = 3
  config.checkpoint_every_steps = 3
  config.eval.batch_size = 64
  config.eval.probe_train_examples = 400
  config.eval.grid_size = 4
  config.eval.heldout_examples = 300
  config.eval.mlp_probe_epochs = 5
  config.eval.num_pairs = 100
  config.eval.truth_poses = 8
  config.eval.factor_examples = 300
  config.eval.forest_trees = 4
  config.eval.forest_depth = 4
  config.eval.quality_examples = 200
  config.eval.kid_subsets = 2
  config.eval.kid_subset_size = 100
  config.eval.figure_steps = 4
  config.eval.classifier_steps = 4
  config.eval.classifier_batch_size = 16
