"""Settings: ``config.toml`` → frozen, typed dataclasses with defaults.

Every setting is declared once, as a dataclass field carrying its default, its
parser and its help text; the loader, the README and a test all read that one
table.  Anything wrong is a single :class:`ConfigError` naming the key.

``values`` holds the parsers of single values, ``sections`` the tables they
make up, ``model`` the whole :class:`Config` of an account, and ``load`` reads a
file into it.  ``scheduler.config`` re-exports what callers use.
"""
