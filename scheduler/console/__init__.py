"""The web console (``publish serve``): the office's view of its accounts and the reviewers' sign-off.

Server-rendered pages (Jinja2 on Starlette), no script; users, roles and login
throttling live in the ledger, beside the releases they look at.
"""
