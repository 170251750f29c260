"""Every launch script: --help, argument checks, and the commands its dry run
prints (nothing is started)."""
import os
import shlex
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TPU = ['--name=dvae', '--zone=us-central2-b']


def _run(script, *args):
  cmd = ([sys.executable] if script.endswith('.py') else []) + [
      os.path.join(REPO, 'launch', script), *args]
  return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize('script', ['local.py', 'tpu_vm.sh', 'slurm.sh'])
def test_help(script):
  result = _run(script, '--help')
  assert result.returncode == 0
  assert 'usage' in result.stdout.lower() and '--dry-run' in result.stdout


def test_local_dry_run_prints_one_command_per_process():
  result = _run('local.py', '--num_processes=3', '--devices_per_process=2',
                '--port=4321', '--dry-run', '--',
                '--config=configs/default.py:tiny', '--workdir=/tmp/w')
  assert result.returncode == 0, result.stderr
  lines = result.stdout.splitlines()
  assert len(lines) == 3
  for i, line in enumerate(lines):
    words = shlex.split(line)
    assert 'JAX_NUM_CPU_DEVICES=2' in words
    assert 'JAX_ENABLE_COMPILATION_CACHE=false' in words
    argv = words[words.index('-m'):]
    assert argv == ['-m', 'dvae_jax.main', '--distributed',
                    '--coordinator_address=127.0.0.1:4321',
                    '--num_processes=3', f'--process_id={i}',
                    '--config=configs/default.py:tiny', '--workdir=/tmp/w']


@pytest.mark.parametrize('args,message', [
    (['--', '--config=configs/default.py'], '--workdir'),
    (['--num_processes=0', '--', '--workdir=/w'], '>= 1'),
])
def test_local_rejects_bad_arguments(args, message):
  result = _run('local.py', '--dry-run', *args)
  assert result.returncode == 2 and message in result.stderr


def test_tpu_vm_dry_run_of_every_command():
  out = {}
  for command in ('create', 'status', 'setup', 'run', 'logs', 'stop',
                  'delete'):
    extra = (['--config=configs/default.py', '--workdir=gs://bucket/dvae',
              '--', '--config.batch_size=64'] if command == 'run' else [])
    if command == 'create':
      extra = ['--accelerator=v4-16', '--spot']
    result = _run('tpu_vm.sh', command, *TPU, '--dry-run', *extra)
    assert result.returncode == 0, result.stderr
    out[command] = [shlex.split(l) for l in result.stdout.splitlines()]
  zone = '--zone=us-central2-b'
  assert out['create'] == [[
      'gcloud', 'compute', 'tpus', 'queued-resources', 'create', 'dvae', zone,
      '--node-id=dvae', '--accelerator-type=v4-16',
      '--runtime-version=tpu-ubuntu2204-base', '--spot']]
  assert out['delete'] == [['gcloud', 'compute', 'tpus', 'queued-resources',
                            'delete', 'dvae', zone, '--force', '--quiet']]
  archive, scp, setup = out['setup']
  assert archive[:3] == ['git', '-C', REPO] and 'HEAD' in archive
  assert scp[:5] == ['gcloud', 'compute', 'tpus', 'tpu-vm', 'scp']
  assert '--worker=all' in scp and '--worker=all' in setup
  assert 'requirements.lock' in setup[-1] and 'jax[tpu]' in setup[-1]
  (run,) = out['run']
  assert run[:6] == ['gcloud', 'compute', 'tpus', 'tpu-vm', 'ssh', 'dvae']
  assert '--worker=all' in run
  remote = run[-1].removeprefix('--command=')
  assert ('.venv/bin/python -m dvae_jax.main --distributed '
          '--config=configs/default.py --workdir=gs://bucket/dvae '
          '--config.batch_size=64' in remote)
  assert '--worker=0' in out['logs'][0] and 'tail' in out['logs'][0][-1]
  assert '--worker=all' in out['stop'][0] and 'kill' in out['stop'][0][-1]


@pytest.mark.parametrize('args,message', [
    (['run', *TPU, '--config=configs/default.py', '--workdir=/tmp/w'],
     'gs://'),
    (['run', *TPU, '--workdir=gs://b/w'], '--config'),
    (['create', '--name=Bad_Name', '--zone=z'], '--name'),
    (['create', '--name=dvae'], '--zone'),
    (['explode', *TPU], 'unknown COMMAND'),
    (['logs', *TPU, '--', '--x=1'], 'for run only'),
])
def test_tpu_vm_rejects_bad_arguments(args, message, monkeypatch):
  monkeypatch.delenv('TPU_ZONE', raising=False)
  result = _run('tpu_vm.sh', *args, '--dry-run')
  assert result.returncode == 2 and message in result.stderr, result.stderr


@pytest.mark.parametrize('per,tasks,device_ids', [
    ('gpu', 4, '$SLURM_LOCALID'), ('node', 1, '0,1,2,3')])
def test_slurm_dry_run_prints_the_batch_script(per, tasks, device_ids):
  result = _run('slurm.sh', '--nodes=2', '--gpus_per_node=4', f'--per={per}',
                '--partition=gpu', '--config=configs/default.py',
                '--workdir=/shared/dvae', '--dry-run', '--',
                '--config.batch_size=64')
  assert result.returncode == 0, result.stderr
  script = result.stdout
  assert script.startswith("sbatch <<'SCRIPT'\n#!/bin/bash\n")
  for line in ('#SBATCH --nodes=2', f'#SBATCH --ntasks-per-node={tasks}',
               '#SBATCH --gpus-per-node=4', '#SBATCH --partition=gpu',
               'export JAX_NUM_PROCESSES=$SLURM_NTASKS'):
    assert line + '\n' in script
  assert 'scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n1' in script
  srun = next(l for l in script.splitlines() if l.startswith('srun'))
  assert (f'JAX_PROCESS_ID=$SLURM_PROCID JAX_LOCAL_DEVICE_IDS={device_ids} '
          f'exec {REPO}/.venv/bin/python -m dvae_jax.main --distributed '
          '--config=configs/default.py --workdir=/shared/dvae '
          '--config.batch_size=64') in srun


@pytest.mark.parametrize('args,message', [
    (['--config=configs/default.py', '--workdir=relative'], 'absolute'),
    (['--workdir=/w'], '--config'),
    (['--config=configs/nope.py', '--workdir=/w'], 'no file'),
    (['--config=configs/default.py', '--workdir=/w', '--per=core'], '--per'),
    (['--config=configs/default.py', '--workdir=/w', '--nodes=0'], '--nodes'),
])
def test_slurm_rejects_bad_arguments(args, message):
  result = _run('slurm.sh', *args, '--dry-run')
  assert result.returncode == 2 and message in result.stderr, result.stderr


def test_local_timeout_stops_every_process(tmp_path):
  result = _run('local.py', '--timeout=2', '--',
                '--config=configs/default.py:tiny', f'--workdir={tmp_path}')
  assert result.returncode == 124
  assert 'stopping all processes (timeout)' in result.stderr
