"""The pieces of the shared SFT recipe (`harness.trainer`): data, trainer callbacks, checkpoints, device support."""
