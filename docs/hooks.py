"""MkDocs hook: fills ``configuration.md`` with every command's composed config and the
commented YAML files, read from ``configs/`` at build time."""

from __future__ import annotations

from pathlib import Path

MARKER = "<!-- config-reference -->"
CONFIGS = Path(__file__).resolve().parents[1] / "configs"
COMMANDS = ("train", "translate", "evaluate", "export", "inspect")


def _composed(name: str) -> str:
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from seq2seq.cli import register_configs

    register_configs()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIGS)):
        cfg = compose(config_name=name)
    return OmegaConf.to_yaml(cfg)


def reference() -> str:
    parts = []
    for name in COMMANDS:
        parts += [f"## `s2s-{name}`", "", "```yaml", _composed(name).rstrip(), "```", ""]
    parts += ["## The config files", ""]
    for path in sorted(CONFIGS.rglob("*.yaml")):
        if "hydra" in path.relative_to(CONFIGS).parts:
            continue
        text = path.read_text(encoding="utf-8").rstrip()
        parts += [f"### `{path.relative_to(CONFIGS)}`", "", "```yaml", text, "```", ""]
    return "\n".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER in markdown:
        return markdown.replace(MARKER, reference())
    return markdown
