"""The command lines: main (train, evaluate), analogy, aot_check, compare."""
