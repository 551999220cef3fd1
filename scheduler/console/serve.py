"""``publish serve``: the console under uvicorn, a process of its own beside the daemon."""

from __future__ import annotations

import logging
import signal

from ..config import Config

log = logging.getLogger(__name__)


def run_console(configs: list[Config], host: str, port: int, behind_https: bool) -> int:
    import click
    import uvicorn

    from .app import create_app
    from .secret import SecretError, session_secret

    try:
        secret = session_secret(configs[0].database.url, configs[0].root)
    except (SecretError, OSError) as exc:
        click.echo(f"配置错误：无法取得会话密钥：{exc}", err=True)
        return 2
    app = create_app(configs, secret=secret, secure=behind_https)
    if host not in ("127.0.0.1", "localhost", "::1") and not behind_https:
        click.echo(f"警告：控制台监听 {host}，密码将以明文经网络传输；请只在 HTTPS 反向代理之后对外提供（见 README）。", err=True)
    click.echo(f"控制台已启动：http://{host}:{port}/ （Ctrl+C 停止）")
    # uvicorn stops gracefully on SIGTERM/SIGINT, then raises the signal again for the handler it
    # found: a quiet one here, so the preview folders are removed and the exit code is 0.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    try:
        # Behind a proxy, trust its X-Forwarded-For/Proto (the login brake counts per real address).
        uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=behind_https,
                    forwarded_allow_ips="127.0.0.1" if behind_https else None, server_header=False)
    finally:
        app.state.console.close()
    return 0
