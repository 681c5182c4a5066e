"""Remote URLs as cmf records them: without the secrets they may carry.

Credentials are stripped from a remote URL. For ``http(s)``, ``ftp``
and every other ``scheme://`` URL the whole user-info part goes
(``https://user:token@host/x.git`` and ``https://token@host/x.git`` both
become ``https://host/x.git``) together with any query or fragment, where
access tokens are also passed. For ``ssh://`` URLs only a password goes: the
user name (``ssh://git@host/x.git``) is part of the address, not a secret,
and ssh authenticates with keys. scp-like addresses (``git@github.com:org/
repo.git``) cannot carry a password and are returned unchanged.
"""

import re

_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<rest>.*)", re.S)
URL_IN_TEXT = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]*@")
"""A URL's user-info inside free text (a Git error message), to drop with ``\\g<scheme>``."""
_SSH_SCHEMES = frozenset({"ssh", "git+ssh", "ssh+git"})


def strip_credentials(url: str) -> str:
    """Return ``url`` without the secrets it may carry (see the module docstring).

    >>> strip_credentials("https://user:token@example.com/org/repo.git")
    'https://example.com/org/repo.git'
    >>> strip_credentials("git@github.com:org/repo.git")
    'git@github.com:org/repo.git'
    """
    match = _URL.fullmatch(url)
    if match is None:
        return url  # scp-like address or local path: no place for a password
    scheme, authority, rest = match["scheme"], match["authority"], match["rest"]
    userinfo, at, host = authority.rpartition("@")
    if scheme.lower() in _SSH_SCHEMES:
        user = userinfo.partition(":")[0]
        return f"{scheme}://{user}{at}{host}{rest}"
    path = re.split(r"[?#]", rest, maxsplit=1)[0]
    return f"{scheme}://{host}{path}"
