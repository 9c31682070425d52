"""The Hydra configs, installed as the package ``seq2seq.configs`` (see pyproject.toml)."""
