"""Secrets redacted before anything is stored: command lines, error texts, params.

A :class:`Redactor` is given to every :class:`~cmf_core.store.Store` (the
store's writes call it, so every way in — Python, ``cmf run``, MCP tools,
cmflib's methods, an mlmd import — passes the same door). What it replaces with
``***``:

- the value of a **secret-named flag or key**: a name ending in ``password``,
  ``passwd``, ``passphrase``, ``token``, ``secret``, ``api_key``/``apikey``,
  ``access_key``, ``private_key`` or ``credential(s)`` (any case, ``-`` or ``_``),
  as ``--password=x``, ``--hf-token x``, ``DB_PASSWORD=x``, ``password: x`` or
  ``"api_key": "x"``, and as a key of params and properties. Tokenizer vocabulary
  (``pad_token``, ``eos_token``, …) is not a secret;
- the password of **URL userinfo**: ``https://user:***@host``;
- well-known **token shapes**: AWS access key ids (``AKIA…``), GitHub
  (``ghp_…``, ``github_pat_…``), Hugging Face (``hf_…``), Slack (``xox…``),
  OpenAI/Anthropic style ``sk-…``, Google ``AIza…``, JWTs (``eyJ….eyJ….…``),
  cmf's own ``cmf_`` tokens, and PEM private key blocks;
- whatever the project's extra **patterns** match (``[redact] patterns`` in
  ``.cmf/config.toml``: regular expressions; one with a group redacts the group).

Redaction is deterministic, so a record redacted twice is the same record (sync
and re-imports stay idempotent). It is on unless turned off by explicit choice
(``[redact] enabled = false`` or ``CMF_REDACT=false``). Records arriving by sync
were redacted where they were recorded, and are merged as they come.
"""

import functools
import re
import shlex
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from cmf_core.errors import ConfigError, Kind

if TYPE_CHECKING:
    from cmf_core.config import Settings
    from cmf_core.records import Execution

MASK = "***"

_WORDS = (
    r"(?:password|passwd|passphrase|(?<!pad[_-])(?<!bos[_-])(?<!eos[_-])(?<!unk[_-])"
    r"(?<!sep[_-])(?<!cls[_-])(?<!mask[_-])token|secret|api[_-]?key|access[_-]?key"
    r"|private[_-]?key|credentials?)"
)
_SECRET_NAME = re.compile(rf"(?i){_WORDS}$")  # searched: the name ends with a word
_SECRET_ASSIGN = re.compile(rf"(?is)^([^=\s]*?{_WORDS}=).+$")
_VALUE = r"(?:'[^']*'|\"[^\"]*\"|[^\s'\",;}})\]]+)"
# A secret word, then ``=``/``:`` and the value, or (after a flag: see _flag_or_key) a space.
_NAMED_VALUE = re.compile(
    rf"(?i)(?P<name>{_WORDS}(?:(?P<sep>['\"]?\s*[:=]\s*)|\s+(?!-)))(?P<value>{_VALUE})"
)
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@'\"]*):([^/\s@'\"]+)@")
# Well-known token shapes, each with the lowercase hint that must be in a text to look for it.
_SHAPES = tuple(
    (hint, re.compile(pattern, re.DOTALL))
    for hint, pattern in (
        ("akia", r"\bAKIA[0-9A-Z]{16}\b"),
        ("asia", r"\bASIA[0-9A-Z]{16}\b"),
        ("abia", r"\bABIA[0-9A-Z]{16}\b"),
        ("acca", r"\bACCA[0-9A-Z]{16}\b"),
        ("gh", r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),
        ("github_pat_", r"\bgithub_pat_[A-Za-z0-9_]{30,}\b"),
        ("hf_", r"\bhf_[A-Za-z0-9]{30,}\b"),
        ("xox", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
        ("sk-", r"\bsk-[A-Za-z0-9_-]{20,}"),
        ("aiza", r"\bAIza[0-9A-Za-z_-]{35}"),
        ("eyj", r"\beyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]*"),
        ("cmf_", r"(?<![\w-])cmf_[A-Za-z0-9_-]{43}(?![\w-])"),
        ("private", r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)"),
    )
)
# Cheap first looks (substring tests on the lowercased text, far faster than the regular
# expressions): a text holding none of these words is not scanned for named values.
_WORD_HINTS = ("pass", "token", "secret", "key", "credential")
_ALL_HINTS = _WORD_HINTS + tuple(hint for hint, _ in _SHAPES)
# A shell word: unquoted characters, '…', "…" (with \" and \\), or a backslash escape.
_SHELL_WORD = re.compile(r"""(?:[^\s'"\\]+|'[^']*'|"(?:[^"\\]|\\.)*"|\\.)+""", re.DOTALL)
_SHELL_PART = re.compile(r"""([^\s'"\\]+)|'([^']*)'|"((?:[^"\\]|\\.)*)"|\\(.)""", re.DOTALL)
_DOUBLE_QUOTED_ESCAPE = re.compile(r'\\(["\\])')


def _builtin(text: str) -> str:
    """``text`` with the built-in kinds of secret replaced (each scanned only when hinted)."""
    low = text.lower()
    for hint, shape in _SHAPES:
        if hint in low:
            text = shape.sub(MASK, text)
    if "@" in low and "://" in low:
        text = _USERINFO.sub(rf"\1:{MASK}@", text)
    if any(hint in low for hint in _WORD_HINTS):
        text = _NAMED_VALUE.sub(_flag_or_key, text)
    return text


class Redactor:
    """Replaces secrets with ``***`` in texts, command lines and mappings (see the module)."""

    def __init__(self, *, enabled: bool = True, patterns: Iterable[str] = ()) -> None:
        self.enabled = enabled
        self.patterns = tuple(_compile(p) for p in patterns)

    @classmethod
    def from_settings(cls, settings: "Settings") -> "Redactor":
        """The project's redactor: ``[redact]`` in ``.cmf/config.toml``, ``CMF_REDACT``."""
        return cls(enabled=settings.redact_enabled, patterns=settings.redact_patterns)

    def text(self, value: str | None) -> str | None:
        """A text (an error, a note) with its secrets replaced."""
        if not value or not self.enabled:
            return value
        return self._extra(_builtin(value))

    def command(self, value: str | None) -> str | None:
        """A shell command line with secret flag values, keys, URLs and tokens replaced.

        Split as the shell would, so ``'--password=a b'`` loses all of ``a b``; a line
        that does not split (unbalanced quotes) is treated as text.
        """
        if not value or not self.enabled:
            return value
        low = value.lower()
        if not any(hint in low for hint in _ALL_HINTS) and not ("@" in low and "://" in low):
            return self._extra(value)
        words = split_command(value)
        if words is None:
            return self.text(value)
        redacted = self.argv(words)
        return self._extra(value if redacted == words else shlex.join(redacted))

    def argv(self, words: list[str]) -> list[str]:
        """Each argument redacted; the one after a secret-named flag (``--token x``) masked."""
        out: list[str] = []
        mask_next = False
        for word in words:
            if mask_next and not word.startswith("-"):
                out.append(MASK)
                mask_next = False
                continue
            mask_next = word.startswith("-") and "=" not in word and _is_secret_name(word)
            assigned = _SECRET_ASSIGN.match(word)
            if assigned:
                out.append(assigned.group(1) + MASK)
            else:
                out.append(_builtin(word))
        return out

    def mapping(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Params or properties: secret-named keys' values masked, texts redacted, nested too."""
        if not values or not self.enabled:
            return dict(values)
        return {key: self._item(key, value) for key, value in values.items()}

    def execution(self, record: "Execution") -> "Execution":
        """An execution record arriving whole (an mlmd import) with its secrets redacted."""
        if not self.enabled:
            return record
        return record.model_copy(
            update={
                "command": self.command(record.command),
                "params": self.mapping(record.params),
                "properties": self.mapping(record.properties),
                "error": self.text(record.error),
            }
        )

    def _item(self, key: str, value: Any) -> Any:
        if value is not None and not isinstance(value, bool) and _is_secret_name(key):
            return MASK
        return self._value(value)

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self._item(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._value(v) for v in value]
        return value

    def _extra(self, text: str) -> str:
        for pattern in self.patterns:
            text = pattern.sub(_mask_group, text)
        return text


@functools.lru_cache(maxsize=4096)
def split_command(line: str) -> list[str] | None:
    """``line`` split into words as POSIX ``shlex.split`` does (ten times faster); None when
    its quotes do not balance."""
    words, end = [], 0
    for match in _SHELL_WORD.finditer(line):
        if line[end : match.start()].strip():
            return None  # something no word took: an unbalanced quote
        words.append("".join(_unquote(part) for part in _SHELL_PART.finditer(match.group())))
        end = match.end()
    return words if not line[end:].strip() else None


def _unquote(part: re.Match[str]) -> str:
    bare, single, double, escaped = part.groups()
    if double is not None:
        return _DOUBLE_QUOTED_ESCAPE.sub(r"\1", double)
    return next(p for p in (bare, single, escaped) if p is not None)


def _is_secret_name(name: str) -> bool:
    return _SECRET_NAME.search(name) is not None


def _flag_or_key(match: re.Match[str]) -> str:
    """``key=x``, ``key: x``, ``--db-token x``; not ``the token x`` (no flag before it)."""
    value = match.group("value")
    if value.strip("'\"") == MASK:
        return match.group(0)
    if match.group("sep") is None:
        text, start = match.string, match.start()
        while start > 0 and text[start - 1] in _NAME_CHARS:
            start -= 1
        if text[start] != "-":
            return match.group(0)
    quote = value[0] if value[0] in "'\"" else ""
    return f"{match.group('name')}{quote}{MASK}{quote}"


def _mask_group(match: re.Match[str]) -> str:
    if match.re.groups == 0 or match.group(1) is None:
        return MASK
    whole, start = match.group(0), match.start(1) - match.start(0)
    return whole[:start] + MASK + whole[start + len(match.group(1)) :]


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(
            f"The redaction pattern {pattern!r} is not a regular expression: {exc}. Fix it "
            "under [redact] patterns in .cmf/config.toml.",
            kind=Kind.VALUE,
        ) from None


__all__ = ["MASK", "Redactor"]
