"""Advice in place of Hydra's words for a refused command line: a setting the command
does not have gets the nearest one it has, a bare word the ``key=value`` form, an option of a
plugin that is not installed the extra that brings it."""

from __future__ import annotations

import re
import sys

from omegaconf import DictConfig

from seq2seq.errors import Seq2SeqError
from seq2seq.extras import EXTRA_OF_HYDRA_OPTION, install_hint

#: Hydra's words for ``key=value`` with a key the config lacks, and for a word without ``=``.
_NOT_IN_CONFIG = re.compile(r"Could not override '([^']+)'\.\s*To append to your config use \+")
_NO_EQUAL = re.compile(r"Error parsing override '([^']*)'\s*missing EQUAL at '<EOF>'")


def override_advice(message: str, config_name: str | None) -> str | None:
    """The advice for a refused override, in place of Hydra's: a key the command does not
    have gets the nearest one it has (not "use +key", which would only be refused next),
    and a word without ``=`` (a bare path, a key without its value) the form to write.
    None for any other error."""
    unknown, bare = _NOT_IN_CONFIG.search(message), _NO_EQUAL.search(message)
    if config_name is None or not (unknown or bare):
        return None
    word = (unknown or bare).group(1)
    known = _known_settings(config_name, skip=word)
    if unknown:
        return unknown_setting(word, known)
    if word in known:
        return f"{word} needs a value: {word}=<value>; see --help"
    path_key = "run_dir" if "run_dir" in known or "run_dirs" in known else "hydra.run.dir"
    return (
        f"{word!r} is not a setting: settings are key=value, and a path is a value,"
        f" e.g. {path_key}={word}; see --help"
    )


_NO_OPTION = re.compile(r"Could not find '(hydra/[a-z_]+)/([\w-]+)'")


def plugin_advice(message: str) -> str | None:
    """For ``hydra/launcher=joblib`` or ``hydra/sweeper=optuna`` without their plugin
    installed: which extra brings it. None for any other error."""
    found = _NO_OPTION.search(message)
    extra = found and EXTRA_OF_HYDRA_OPTION.get(found.group(1), {}).get(found.group(2))
    if not extra:
        return None
    option = f"{found.group(1)}={found.group(2)}"
    return f"{option} needs the optional extra {extra!r} (its Hydra plugin): {install_hint(extra)}"


def unknown_setting(key: str, known: set[str], prefix: str = "") -> str:
    """The one-line refusal of a setting the command does not have, with the nearest one."""
    import difflib

    longer = sorted((k for k in known if k.startswith(key)), key=len)  # decoding.beam
    near = longer[:1] or difflib.get_close_matches(key, sorted(known), n=1)
    hint = f" (did you mean {near[0]}?)" if near else ""
    return f"{prefix}{key} is not a setting of this command{hint}; see --help"


def _known_settings(config_name: str, skip: str) -> set[str]:
    """The dotted keys (and config groups) of ``config_name`` composed with the command
    line's other overrides (with none, if they do not compose either)."""
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from seq2seq.commands import CONFIG_PATH
    from seq2seq.options import flatten

    def key_of(arg: str) -> str:
        return arg.split("=", 1)[0].lstrip("+~")

    others = [a for a in sys.argv[1:] if "=" in a and not a.startswith(("-", "hydra"))
              and key_of(a) != skip]  # fmt: skip
    for overrides in (others, []):
        GlobalHydra.instance().clear()
        try:
            with initialize_config_module(CONFIG_PATH.removeprefix("pkg://"), version_base="1.3"):
                cfg = compose(config_name, overrides=overrides)
        except Exception:  # another bad override: try without them
            continue
        values = OmegaConf.to_container(cfg, resolve=False)
        return set(flatten(values)) | set(values)
    return set()


def refuse_added_keys(cfg: DictConfig) -> None:
    """Refuses a ``+key=value`` override that adds a key, and a ``++key=value`` whose key the
    config does not have: every setting a command reads is in its config already (Hydra
    refuses ``key=value`` for a key it does not know), so an added key is a misspelling that
    would otherwise be ignored. Adding a config group (``+experiment=...``) is fine.

    Raises:
        Seq2SeqError: naming the key and the nearest known one.
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    from seq2seq.options import flatten

    if not HydraConfig.initialized():
        return
    hydra_cfg = HydraConfig.get()
    groups = set(hydra_cfg.runtime.choices.keys())
    overrides = OverridesParser.create().parse_overrides(list(hydra_cfg.overrides.task))
    added = [("+", o.key_or_group) for o in overrides
             if o.is_add() and o.key_or_group not in groups]  # fmt: skip
    added += [("++", key) for key in forced_new_keys(hydra_cfg.job.config_name, overrides, groups)]
    if not added:
        return
    prefix, key = added[0]
    known = set(flatten(OmegaConf.to_container(cfg, resolve=False))) - {k for _, k in added}
    raise Seq2SeqError(unknown_setting(key, known, prefix))


def forced_new_keys(config_name: str | None, overrides: list, groups: set[str]) -> list[str]:
    """The keys of ``++key=value`` overrides that the config composed without them lacks."""
    from hydra import compose
    from omegaconf import OmegaConf

    forced = [o for o in overrides if o.is_force_add() and o.key_or_group not in groups]
    if not forced:
        return []
    rest = [o.input_line for o in overrides if o not in forced]
    base = compose(config_name=config_name, overrides=rest)
    absent = object()
    return [o.key_or_group for o in forced
            if OmegaConf.select(base, o.key_or_group, default=absent) is absent]  # fmt: skip
