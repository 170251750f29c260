"""A PyTorch twin of dvae_jax's paper model and train step, to time against.

Same networks (the paper's encoder, decoder and label discriminator), same
losses and weights, same update order: one Adam step of encoder + decoder on
the generator loss, then one Adam step of D on the fakes of that same forward
pass. Written the way a careful PyTorch user would: NCHW, D's weights frozen
during the generator backward, gradients set to None.

`load_flax_params` copies a dvae_jax state's parameters in, so that both
frameworks compute the same losses on the same weights (benchmarks/compare.py
checks it before timing). Benchmarks only: the package never imports torch.
"""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dvae_jax.training import terms as terms_lib
from dvae_jax.training.step import FAKES, S_GROUPS, Z_GROUPS

NUM_DOWNSAMPLINGS = 3


def _conv_block(cin: int, cout: int, kernel: int, stride: int = 1):
  """conv (no bias) + batch norm + ReLU, 'SAME' for 3x3, 'VALID' for 2x2/2."""
  return nn.Sequential(
      nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2 if stride == 1
                else 0, bias=False),
      nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1), nn.ReLU())


class Encoder(nn.Module):
  """x (N, C, H, W) -> s (N, s_dim), z_mean, z_logvar (N, z_dim)."""

  def __init__(self, width, s_dim, z_dim, image_size, channels):
    super().__init__()
    w = width
    blocks = [_conv_block(channels, w, 3), _conv_block(w, w, 3)]
    for stage in range(1, NUM_DOWNSAMPLINGS + 1):
      cin, cout = w * 2**(stage - 1), w * 2**stage
      blocks += [_conv_block(cin, cout, 2, 2), _conv_block(cout, cout, 3)]
    self.blocks = nn.Sequential(*blocks)
    flat = w * 2**NUM_DOWNSAMPLINGS * (image_size // 2**NUM_DOWNSAMPLINGS)**2
    self.s_head = nn.Linear(flat, s_dim)
    self.z_mean_head = nn.Linear(flat, z_dim)
    self.z_logvar_head = nn.Linear(flat, z_dim)

  def forward(self, x):
    x = self.blocks(x).flatten(1)
    return self.s_head(x), self.z_mean_head(x), self.z_logvar_head(x)


class Decoder(nn.Module):
  """s (N, s_dim), z (N, z_dim) -> image (N, C, H, W) in [-1, 1]."""

  def __init__(self, width, s_dim, z_dim, image_size, channels):
    super().__init__()
    self.base = image_size // 2**NUM_DOWNSAMPLINGS
    self.top = width * 2**NUM_DOWNSAMPLINGS
    self.s_proj = nn.Linear(s_dim, self.base**2 * self.top)
    self.z_proj = nn.Linear(z_dim, self.base**2 * self.top)
    stages = []
    for stage in range(NUM_DOWNSAMPLINGS, 0, -1):
      c = width * 2**stage
      # The 2x2 stride-2 up-conv is a ConvTranspose2d, PyTorch's fast path
      # for it; dvae_jax computes the same function as 1x1 conv + depth-to-space.
      stages += [_conv_block(c, c, 3), nn.ConvTranspose2d(c, c // 2, 2, 2),
                 nn.BatchNorm2d(c // 2, eps=1e-5, momentum=0.1), nn.ReLU()]
    self.stages = nn.Sequential(*stages)
    self.out = nn.Conv2d(width, channels, 3, padding=1)

  def forward(self, s, z):
    x = (self.s_proj(s) + self.z_proj(z)).view(-1, self.top, self.base,
                                                self.base)
    return torch.tanh(self.out(self.stages(x)))


class LabelDiscriminator(nn.Module):
  """D(x, id): x (N, C, H, W), labels (N,) -> logits (N,)."""

  def __init__(self, width, num_classes, image_size, channels, dropout_rate):
    super().__init__()
    self.conv_in = nn.Conv2d(channels, width, 3, padding=1)
    self.down = nn.ModuleList()
    self.conv = nn.ModuleList()
    self.embed = nn.ModuleList()
    cin = width
    for stage in range(NUM_DOWNSAMPLINGS):
      c = width * 2**stage
      self.down.append(nn.Conv2d(cin, c, 2, 2))
      self.conv.append(nn.Conv2d(c, c, 3, padding=1))
      self.embed.append(nn.Embedding(num_classes, c))
      cin = c
    self.dropout = nn.Dropout(dropout_rate)
    self.dense = nn.Linear(cin * (image_size // 2**NUM_DOWNSAMPLINGS)**2, 1)

  def forward(self, x, labels):
    x = F.leaky_relu(self.conv_in(x), 0.2)
    for down, conv, embed in zip(self.down, self.conv, self.embed):
      x = F.leaky_relu(down(x), 0.2)
      x = F.leaky_relu(conv(x), 0.2) + embed(labels)[:, :, None, None]
    return self.dense(self.dropout(x.flatten(1)))[:, 0]


def _bce(logits, target: float):
  return F.binary_cross_entropy_with_logits(logits,
                                            torch.full_like(logits, target))


def _mse(a, b):
  return torch.mean(torch.square(a - b))


class TrainStep:
  """The paper's step: generator update, then D update on the same fakes.

  __call__(images (B, 3, C, H, W), labels (B, 3) int64, eps (3B, z_dim) or
  None to draw it) -> dict of scalar loss tensors, named as dvae_jax's
  metrics (not read back here: the caller decides when to sync).
  """

  def __init__(self, config, num_classes: int, device: str = 'cpu'):
    if config.adversary != 'label' or terms_lib.active(config.loss):
      raise ValueError('the reference implements the paper\'s step only '
                       '(adversary=label, no term of training/terms.py)')
    m, size, c = config.model, config.image_size, config.channels
    self.config = config
    self.encoder = Encoder(m.width, m.s_dim, m.z_dim, size, c)
    self.decoder = Decoder(m.width, m.s_dim, m.z_dim, size, c)
    self.discriminator = LabelDiscriminator(m.disc_width, num_classes, size, c,
                                            m.disc_dropout)
    self.device = torch.device(device)
    for module in (self.encoder, self.decoder, self.discriminator):
      module.to(self.device)
    self.gen_params = (list(self.encoder.parameters()) +
                       list(self.decoder.parameters()))
    self.gen_opt = torch.optim.Adam(self.gen_params, config.learning_rate,
                                    betas=(config.b1, 0.999), eps=1e-8)
    self.disc_opt = torch.optim.Adam(self.discriminator.parameters(),
                                     config.disc_learning_rate,
                                     betas=(config.b1, 0.999), eps=1e-8)
    for module in (self.encoder, self.decoder, self.discriminator):
      module.train()

  def __call__(self, images, labels, eps=None):
    w = self.config.loss
    b, g = images.shape[:2]
    kl_weight = w.kl / (self.config.image_size**2 * self.config.channels)
    s, z_mean, z_logvar = self.encoder(images.flatten(0, 1))
    if eps is None:
      eps = torch.randn_like(z_mean)
    z = z_mean + torch.exp(0.5 * z_logvar) * eps
    s, z = s.view(b, g, -1), z.view(b, g, -1)
    decoded = self.decoder(s[:, S_GROUPS].flatten(0, 1),
                           z[:, Z_GROUPS].flatten(0, 1))
    decoded = decoded.view((b, len(S_GROUPS)) + images.shape[2:])
    terms = {
        'reconstruction': sum(_mse(decoded[:, i], images[:, i])
                              for i in range(3)),
        'swap': (_mse(decoded[:, 3], images[:, 0]) +
                 _mse(decoded[:, 4], images[:, 1])),
        'kl': torch.mean(0.5 * torch.sum(
            torch.square(z_mean) + torch.exp(z_logvar) - 1.0 - z_logvar, -1)),
    }
    fakes, fake_labels = decoded[:, FAKES].flatten(0, 1), labels[:, 1:3]
    fake_labels = fake_labels.flatten()
    self.discriminator.requires_grad_(False)
    terms['adversarial'] = _bce(self.discriminator(fakes, fake_labels),
                                w.real_target)
    self.discriminator.requires_grad_(True)
    total = (w.reconstruction * terms['reconstruction'] + w.swap * terms['swap']
             + kl_weight * terms['kl'] + w.adversarial * terms['adversarial'])
    self.gen_opt.zero_grad(set_to_none=True)
    total.backward()
    self.gen_opt.step()

    fakes = fakes.detach()
    real = self.discriminator(images[:, 1:3].flatten(0, 1),
                              labels[:, 1:3].flatten())
    fake = self.discriminator(fakes, fake_labels)
    d_loss = 0.5 * (_bce(real, w.real_target) + _bce(fake, 0.0))
    self.disc_opt.zero_grad(set_to_none=True)
    d_loss.backward()
    self.disc_opt.step()
    terms['generator_total'] = total
    terms['discriminator'] = d_loss
    return {k: v.detach() for k, v in terms.items()}


def to_torch_batch(batch, device: str = 'cpu'):
  """dvae_jax numpy batch (NHWC groups) -> (images (B, 3, C, H, W), labels)
  on `device`."""
  images = np.ascontiguousarray(batch['images'].transpose(0, 1, 4, 2, 3))
  return (torch.from_numpy(images).to(device),
          torch.from_numpy(np.asarray(batch['labels'], np.int64)).to(device))


def synchronize(device: str) -> None:
  """Waits for the queued work on `device` (CUDA runs asynchronously)."""
  if torch.device(device).type == 'cuda':
    torch.cuda.synchronize(device)


# --- Weights: dvae_jax (Flax, NHWC, HWIO kernels) -> torch (NCHW, OIHW).


def _set(param: torch.Tensor, value) -> None:
  value = np.asarray(value, np.float32)
  if tuple(param.shape) != value.shape:
    raise ValueError(f'shape {value.shape} does not fit {tuple(param.shape)}')
  with torch.no_grad():
    param.copy_(torch.tensor(value))


def _conv(conv: nn.Conv2d, p) -> None:
  _set(conv.weight, np.transpose(p['kernel'], (3, 2, 0, 1)))
  if conv.bias is not None:
    _set(conv.bias, p['bias'])


def _batch_norm(bn: nn.BatchNorm2d, p) -> None:
  _set(bn.weight, p['scale'])
  _set(bn.bias, p['bias'])


def _linear(linear: nn.Linear, p, in_hwc=None, out_hwc=None) -> None:
  """Flax Dense -> Linear; in_hwc/out_hwc (H, W, C) reorder a flattened NHWC
  side to PyTorch's NCHW flattening."""
  k = np.asarray(p['kernel'])  # (in, out)
  if in_hwc is not None:
    k = k.reshape(*in_hwc, -1).transpose(2, 0, 1, 3).reshape(k.shape)
  if out_hwc is not None:
    k = k.reshape(k.shape[0], *out_hwc).transpose(0, 3, 1, 2).reshape(k.shape)
  b = np.asarray(p['bias'])
  if out_hwc is not None:
    b = b.reshape(out_hwc).transpose(2, 0, 1).reshape(-1)
  _set(linear.weight, k.T)
  _set(linear.bias, b)


def _upconv(up: nn.ConvTranspose2d, p) -> None:
  """dvae_jax UpConv (1x1 kernel to (dy, dx, c) channels + bias) -> ConvT."""
  k = np.asarray(p['Conv_0']['kernel'])[0, 0]  # (Cin, 2 * 2 * Cout)
  cin, cout = k.shape[0], k.shape[1] // 4
  _set(up.weight, k.reshape(cin, 2, 2, cout).transpose(0, 3, 1, 2))
  _set(up.bias, p['bias'])


def load_flax_params(step: TrainStep, gen_params, adv_params) -> None:
  """Copies a dvae_jax TrainState's gen_params and adv_params into `step`."""
  enc, p = step.encoder, gen_params['encoder']
  for i, block in enumerate(enc.blocks):
    _conv(block[0], p[f'ConvBlock_{i}']['Conv_0'])
    _batch_norm(block[1], p[f'ConvBlock_{i}']['BatchNorm_0'])
  top = enc.s_head.in_features // enc.blocks[-1][0].out_channels
  base = int(round(top**0.5))
  hwc = (base, base, enc.blocks[-1][0].out_channels)
  for name in ('s_head', 'z_mean_head', 'z_logvar_head'):
    _linear(getattr(enc, name), p[name], in_hwc=hwc)

  dec, p = step.decoder, gen_params['decoder']
  hwc = (dec.base, dec.base, dec.top)
  _linear(dec.s_proj, p['s_proj'], out_hwc=hwc)
  _linear(dec.z_proj, p['z_proj'], out_hwc=hwc)
  for i in range(NUM_DOWNSAMPLINGS):
    block, up, bn = dec.stages[4 * i:4 * i + 3]
    _conv(block[0], p[f'ConvBlock_{i}']['Conv_0'])
    _batch_norm(block[1], p[f'ConvBlock_{i}']['BatchNorm_0'])
    _upconv(up, p[f'UpConv_{i}'])
    _batch_norm(bn, p[f'BatchNorm_{i}'])
  _conv(dec.out, p['Conv_0'])

  d, p = step.discriminator, adv_params['discriminator']
  trunk = p['_DiscriminatorTrunk_0']
  _conv(d.conv_in, trunk['Conv_0'])
  for stage in range(NUM_DOWNSAMPLINGS):
    _conv(d.down[stage], trunk[f'Conv_{2 * stage + 1}'])
    _conv(d.conv[stage], trunk[f'Conv_{2 * stage + 2}'])
    _set(d.embed[stage].weight, p[f'label_embedding_{stage}']['embedding'])
  c = d.conv[-1].out_channels
  base = int(round((d.dense.in_features // c)**0.5))
  _linear(d.dense, trunk['Dense_0'], in_hwc=(base, base, c))
