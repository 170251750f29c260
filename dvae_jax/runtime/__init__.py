"""What every part runs on: devices, checkpoints, the workdir, errors."""
