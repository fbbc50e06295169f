"""Every word a user sees, per language, loaded from locales/<lang>.yaml and checked."""

from __future__ import annotations

import string
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from bot.core.yaml_errors import describe_yaml_error

LOCALES_DIR = Path(__file__).resolve().parents[2] / "locales"
_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


class I18nError(Exception):
    """A locale file is broken; the message names the file and the key."""


def _flatten(prefix: str, node: Any, out: dict[str, str], file: str) -> None:
    """Turn nested mappings into dotted keys."""
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                raise I18nError(f"{file}: {prefix}.{key}: quote this key (YAML read it as {key!r})")
            _flatten(f"{prefix}.{key}" if prefix else str(key), value, out, file)
    elif isinstance(node, str):
        if not node.strip():
            raise I18nError(f"{file}: {prefix}: empty text")
        out[prefix] = node
    else:
        raise I18nError(f"{file}: {prefix}: expected text, found {type(node).__name__}")


def placeholders(text: str) -> frozenset[str]:
    """The {names} a text expects."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


def load_catalog(path: Path) -> dict[str, str]:
    """Read one locale file into dotted keys."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise I18nError(f"locales/{path.name}: {describe_yaml_error(exc)}") from exc
    except UnicodeDecodeError as exc:
        raise I18nError(f"locales/{path.name}: not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise I18nError(f"{path}: cannot be read: {exc.strerror}") from exc
    out: dict[str, str] = {}
    _flatten("", data or {}, out, f"locales/{path.name}")
    return out


class I18n:
    """Translations for several languages with identical keys and placeholders."""

    def __init__(
        self,
        catalogs: dict[str, dict[str, str]],
        files: dict[str, dict[str, str]] | None = None,
    ) -> None:
        """Validate the catalogs against each other (files: which file defined each key)."""
        self.languages = tuple(catalogs)
        self._catalogs = catalogs
        self._files = files or {}
        base_lang = self.languages[0]
        base = catalogs[base_lang]
        for lang, catalog in catalogs.items():
            for key in sorted(set(base) - set(catalog)):
                raise I18nError(f"locales/{lang}.yaml: {key}: missing (present in {base_lang})")
            for key in sorted(set(catalog) - set(base)):
                raise I18nError(f"locales/{base_lang}.yaml: {key}: missing (present in {lang})")
            for key, text in catalog.items():
                if placeholders(text) != placeholders(base[key]):
                    raise I18nError(
                        f"locales/{lang}.yaml: {key}: placeholders "
                        f"{sorted(placeholders(text))} differ from {base_lang}'s "
                        f"{sorted(placeholders(base[key]))}"
                    )

    def has(self, key: str) -> bool:
        """Whether a key exists."""
        return key in self._catalogs[self.languages[0]]

    def t(self, lang: str, key: str, **values: Any) -> str:
        """The text for a key, formatted; whole numbers in Persian digits for Persian."""
        catalog = self._catalogs.get(lang) or self._catalogs[self.languages[0]]
        text = catalog[key]
        if not values:
            return text
        if lang == "fa":
            values = {
                k: str(v).translate(_PERSIAN)
                if isinstance(v, int) and not isinstance(v, bool)
                else v
                for k, v in values.items()
            }
        return text.format(**values)

    def variants(self, key: str) -> frozenset[str]:
        """The text of a key in every language (to recognise a button in any language)."""
        return frozenset(c[key] for c in self._catalogs.values())

    def file_of(self, lang: str, key: str) -> str:
        """The locale file that defines a key in one language."""
        return self._files.get(lang, {}).get(key, f"locales/{lang}.yaml")

    def keys(self, prefix: str = "") -> Iterable[str]:
        """All keys under a prefix."""
        return (k for k in self._catalogs[self.languages[0]] if k.startswith(prefix))


def load_language(
    directory: Path, lang: str, files: dict[str, str] | None = None
) -> dict[str, str]:
    """One language: `<lang>.yaml` plus any `<lang>.<feature>.yaml`, with no key defined twice.

    ``files``, when given, is filled with the file that defines each key.
    """
    merged = load_catalog(directory / f"{lang}.yaml")
    where = {key: f"locales/{lang}.yaml" for key in merged}
    for extra in sorted(directory.glob(f"{lang}.*.yaml")):
        for key, text in load_catalog(extra).items():
            if key in merged:
                raise I18nError(f"locales/{extra.name}: {key}: already defined in another file")
            merged[key] = text
            where[key] = f"locales/{extra.name}"
    if files is not None:
        files.update(where)
    return merged


def load_i18n(directory: Path = LOCALES_DIR, languages: tuple[str, ...] = ("fa", "en")) -> I18n:
    """Load and cross-check every language's catalog."""
    files: dict[str, dict[str, str]] = {lang: {} for lang in languages}
    catalogs = {lang: load_language(directory, lang, files[lang]) for lang in languages}
    return I18n(catalogs, files)
