#!/usr/bin/env python3
"""N processes of dvae_jax.main on this machine, joined over loopback.

For testing the multi-host code path without a cluster: each process gets its
own fake CPU devices, process 0 is the coordinator on a free local port, and
every process runs the same command, as the workers of a TPU pod would.

  launch/local.py --num_processes=2 --devices_per_process=2 -- \\
      --config=configs/default.py:tiny --workdir=/tmp/dvae_local

Everything after `--` goes to `python -m dvae_jax.main`. Output lines are
prefixed with the process id. If one process fails, the others are stopped
(a peer that never arrives would otherwise make them wait and abort).
"""
import argparse
import os
import shlex
import socket
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args(argv):
  parser = argparse.ArgumentParser(
      description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--num_processes', '-n', type=int, default=2)
  parser.add_argument('--devices_per_process', type=int, default=1,
                      help='fake CPU devices in each process')
  parser.add_argument('--port', type=int, default=0,
                      help='coordinator port (default: a free one)')
  parser.add_argument('--timeout', type=float, default=3600,
                      help='seconds before every process is stopped (exit 124)')
  parser.add_argument('--collective_timeout', type=int, default=60,
                      help='seconds a CPU collective may wait for its peers '
                      '(a dead peer fails the run after this, not a hang)')
  parser.add_argument('--python', default=sys.executable)
  parser.add_argument('--dry-run', '--dry_run', dest='dry_run',
                      action='store_true', help='print the commands, run nothing')
  parser.add_argument('main_args', nargs='*',
                      help='arguments of dvae_jax.main, after --')
  args = parser.parse_args(argv)
  if args.num_processes < 1 or args.devices_per_process < 1:
    parser.error('--num_processes and --devices_per_process must be >= 1')
  if not 0 <= args.port < 65536:
    parser.error('--port must be in [0, 65535]')
  if not any(a.startswith('--workdir') for a in args.main_args):
    parser.error('pass the arguments of dvae_jax.main after --, at least '
                 '--config=... --workdir=...')
  return args


def free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def commands(args, port: int):
  """[(env overrides, argv)] for every process."""
  timeout = args.collective_timeout
  xla_flags = ' '.join(filter(None, [
      os.environ.get('XLA_FLAGS', ''),
      f'--xla_cpu_collective_timeout_seconds={timeout}',
      f'--xla_cpu_collective_call_terminate_timeout_seconds={timeout}']))
  env = {'JAX_PLATFORMS': 'cpu',
         'JAX_NUM_CPU_DEVICES': str(args.devices_per_process),
         'XLA_FLAGS': xla_flags,
         # JAX writes its compilation cache from process 0 only: on a rerun
         # process 0 would skip its compiles and wait for the others at the
         # first collective, where CPU (gloo) collectives give up after 30 s.
         'JAX_ENABLE_COMPILATION_CACHE': 'false'}
  return [(env,
           [args.python, '-m', 'dvae_jax.main', '--distributed',
            f'--coordinator_address=127.0.0.1:{port}',
            f'--num_processes={args.num_processes}', f'--process_id={i}',
            *args.main_args])
          for i in range(args.num_processes)]


def _forward(i: int, stream) -> None:
  for line in stream:
    sys.stdout.write(f'[{i}] {line}')
    sys.stdout.flush()


def run(cmds, timeout: float) -> int:
  """Runs all commands; the first failure or the timeout stops the rest."""
  procs, threads = [], []
  for i, (env, argv) in enumerate(cmds):
    p = subprocess.Popen(argv, cwd=REPO, env={**os.environ, **env},
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    procs.append(p)
    threads.append(threading.Thread(target=_forward, args=(i, p.stdout),
                                    daemon=True))
    threads[-1].start()
  deadline, rc = time.time() + timeout, 0
  try:
    while any(p.poll() is None for p in procs):
      failed = [p.returncode for p in procs if p.returncode not in (None, 0)]
      if failed or time.time() > deadline:
        rc = failed[0] if failed else 124
        print('launch/local.py: stopping all processes (' +
              ('a process failed' if failed else 'timeout') + ')',
              file=sys.stderr)
        break
      time.sleep(0.2)
  finally:  # also on Ctrl-C: leave no process behind
    for p in procs:
      if p.poll() is None:
        p.kill()
      p.wait()
  for t in threads:
    t.join(timeout=5)
  return rc or next((p.returncode for p in procs if p.returncode), 0)


def main(argv=None) -> int:
  args = parse_args(sys.argv[1:] if argv is None else argv)
  cmds = commands(args, args.port or free_port())
  if args.dry_run:
    for env, argv in cmds:
      print(' '.join(f'{k}={shlex.quote(v)}' for k, v in env.items()),
            shlex.join(argv))
    return 0
  return run(cmds, args.timeout)


if __name__ == '__main__':
  sys.exit(main())
