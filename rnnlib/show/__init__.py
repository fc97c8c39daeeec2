"""Pictures and players: what the notebooks draw (needs matplotlib and ipywidgets; ``import rnnlib`` does not load it)."""
