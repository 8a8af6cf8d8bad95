"""Pure PyTorch side of the platform: performances, generators, rendering.

Never imports Django. Filled in by the performances, Foley Music, baselines and stimuli issues.
"""
