"""click's usage errors, in Chinese: one line saying what is wrong and where to read how, exit 2.

click raises its English ``UsageError`` from parsing; the group re-raises each as
:class:`ChineseUsageError`, which click shows and exits with like any other.
"""

from __future__ import annotations

import re

import click

# click's English messages (8.x) → Chinese; the captured names are kept as written.
_PATTERNS = (
    (r"No such option:? '?([^'.\s]+)'?\.?(?: Did you mean '?([^'?]+)'?\?)?", "没有选项 {0}{1}"),
    (r"No such command '([^']+)'\.?", "没有子命令“{0}”"),
    (r"Missing argument '([^']+)'\.?", "缺少参数 {0}"),
    (r"Missing option '([^']+)'\.?", "缺少选项 {0}"),
    (r"Option '([^']+)' requires an argument\.?", "选项 {0} 后面要写一个值"),
    (r"Option '([^']+)' does not take a value\.?", "选项 {0} 后面不能写值"),
    (r"Got unexpected extra arguments? \((.*)\)", "多余的参数：{0}"),
    (r"Invalid value for '([^']+)': '?(.*?)'? is not in the range ([-\d]+)<=x<=([-\d]+)\.?", "{0} 的值 {1} 应在 {2} 到 {3} 之间"),
    (r"Invalid value for '([^']+)': '?(.*?)'? is not in the range x>=([-\d]+)\.?", "{0} 的值 {1} 应不小于 {2}"),
    (r"Invalid value for '([^']+)': '(.*)' is not a valid integer(?: range)?\.?", "{0} 的值“{1}”应为整数"),
    (r"Invalid value for '([^']+)': (.*)", "{0} 的值无效：{1}"),
)


def chinese(message: str) -> str:
    for pattern, text in _PATTERNS:
        match = re.fullmatch(pattern, message.strip(), flags=re.S)
        if match:
            groups = [g or "" for g in match.groups()]
            if text.startswith("没有选项"):  # "Did you mean" becomes a suggestion
                groups = [groups[0], f"（是不是要写 {groups[1]}？）" if groups[1] else ""]
            return text.format(*groups)
    return f"命令行写法有误（{message.strip()}）"


class ChineseUsageError(click.ClickException):
    exit_code = 2

    def __init__(self, error: click.UsageError) -> None:
        super().__init__(chinese(error.format_message()))
        command = error.ctx.command_path if error.ctx is not None else "publish"
        self.help = f"{command} --help"

    def show(self, file=None) -> None:
        click.echo(f"用法错误：{self.message}；运行 {self.help} 查看用法", err=True)


class ChineseGroup(click.Group):
    """A group whose usage errors, its own and its subcommands', come out in Chinese."""

    def make_context(self, *args, **kwargs):
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            raise ChineseUsageError(exc) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise ChineseUsageError(exc) from None
