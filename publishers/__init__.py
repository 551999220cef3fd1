"""Publishers: turn plain articles into WeChat HTML and deliver them (or preview them).

Nothing here knows about slots, posts or the release ledger; ``scheduler`` calls in,
never the other way round.
"""
