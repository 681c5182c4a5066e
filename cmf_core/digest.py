"""The digest value — ``md5:<32 hex>`` for a file, ``md5:<32 hex>.dir`` for a directory.

The one place that builds or takes apart a digest. The algorithm always
travels with the value (``md5:``), and a directory's digest ends in ``.dir``
exactly as DVC 3 names its manifest object, so cmf and DVC name the same bytes
the same way. DVC itself calls the part after ``md5:`` the *object id* (oid):
``ab…`` or ``ab….dir``.
"""

import re
from typing import NamedTuple

from cmf_core.errors import InvalidInputError, Kind

ALGORITHM = "md5"
DIGEST_PREFIX = ALGORITHM + ":"
DIR_SUFFIX = ".dir"
SHORT = len(DIGEST_PREFIX) + 12  # md5: and 12 hex digits (48 bits): unique in any real store
_OID = re.compile(r"[0-9a-f]{32}(?:\.dir)?")


class Digest(NamedTuple):
    """A digest taken apart: the md5's 32 hex digits and whether it names a directory."""

    md5: str
    is_dir: bool

    def __str__(self) -> str:
        return DIGEST_PREFIX + self.md5 + (DIR_SUFFIX if self.is_dir else "")


def file_digest(md5: str) -> str:
    """The digest of a file whose bytes have this md5 (32 hex digits)."""
    return DIGEST_PREFIX + md5


def dir_digest(md5: str) -> str:
    """The digest of a directory whose DVC manifest has this md5."""
    return DIGEST_PREFIX + md5 + DIR_SUFFIX


def parse_digest(text: str) -> Digest:
    """``text`` as a :class:`Digest`; anything else is an :class:`InvalidInputError`."""
    oid = text.removeprefix(DIGEST_PREFIX) if text.startswith(DIGEST_PREFIX) else None
    if oid is None or _OID.fullmatch(oid) is None:
        raise InvalidInputError(
            f"{text[:80]!r} is not an artifact digest (md5:<32 hex digits>, with .dir for a "
            "directory).",
            kind=Kind.ARTIFACT,
            reference=text[:80],
        )
    return Digest(oid.removesuffix(DIR_SUFFIX), oid.endswith(DIR_SUFFIX))


def is_digest(text: str) -> bool:
    """Whether ``text`` is a whole digest (not a prefix of one)."""
    return text.startswith(DIGEST_PREFIX) and _OID.fullmatch(text[len(DIGEST_PREFIX) :]) is not None


def is_dir_digest(digest: str) -> bool:
    """Whether ``digest`` names a directory manifest."""
    return digest.endswith(DIR_SUFFIX)


def object_id(digest: str) -> str:
    """DVC's object id of ``digest``: ``md5:ab…`` → ``ab…`` (keeping ``.dir``)."""
    parse_digest(digest)
    return digest[len(DIGEST_PREFIX) :]


def from_object_id(oid: str) -> str:
    """The digest of DVC's object id ``oid`` (the inverse of :func:`object_id`)."""
    if _OID.fullmatch(oid) is None:
        raise InvalidInputError(f"{oid[:80]!r} is not a DVC object id.", kind=Kind.ARTIFACT)
    return DIGEST_PREFIX + oid


def digest_prefix(text: str) -> str:
    """A digest or prefix as a user may write it (``3F2A``, ``md5:3f2a``) as stored."""
    text = text.strip().lower()
    return text if text.startswith(DIGEST_PREFIX) else DIGEST_PREFIX + text


def is_empty_prefix(prefix: str) -> bool:
    """Whether a normalised prefix names no characters of a digest (``md5:`` or nothing)."""
    return prefix in ("", DIGEST_PREFIX)


def short_digest(digest: str) -> str:
    """``md5:`` and the first 12 hex digits: a prefix that is unique in any real store."""
    return digest[:SHORT] if digest.startswith(DIGEST_PREFIX) else digest
