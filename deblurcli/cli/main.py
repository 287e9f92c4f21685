"""The `deblur` application. `deblur photo.jpg` runs the `deblur` command (``DefaultGroup``)."""

from __future__ import annotations

import sys
from collections.abc import Collection
from typing import Any

import click
import typer
from typer.core import TyperCommand, TyperGroup

from .. import __version__

TOP_LEVEL = ("-h", "--help", "--version", "--install-completion", "--show-completion")


class DefaultGroup(TyperGroup):
    """A group whose first argument, when it names no command and no top-level option, is the default
    command's: `deblur photo.jpg -o out/` is `deblur deblur photo.jpg -o out/`. It happens inside click's
    own parsing, so every way in (the console script, ``CliRunner``, shell completion) agrees."""

    default = "deblur"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, route(args, self.commands))

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """With --json every run prints one JSON object on stdout: click's own usage errors (a bad
        option value, an unknown option) too, which it shows before any command runs."""
        argv = list(sys.argv[1:] if args is None else args)
        if "--json" not in argv or not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        from .common import error_json

        try:
            code = super().main(argv, prog_name, complete_var, False, **extra)
        except Exception as e:
            # click's usage errors, or those of the click that typer ≥ 0.2x carries inside it (another class)
            if not (hasattr(e, "format_message") and hasattr(e, "show") and isinstance(getattr(e, "exit_code", None), int)):
                raise
            e.show()
            error_json(e.format_message(), "see `deblur COMMAND --help`", e.exit_code)
            sys.exit(e.exit_code)
        sys.exit(code if isinstance(code, int) else 0)


class DefaultCommand(TyperCommand):
    """The default command's usage line says that its name may be left out: `deblur [deblur] …`."""

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        path = f"{ctx.parent.command_path} [{ctx.info_name}]" if ctx.parent is not None else ctx.command_path
        formatter.write_usage(path, " ".join(self.collect_usage_pieces(ctx)).replace("{INPUTS...}...", "INPUTS..."))


app = typer.Typer(
    cls=DefaultGroup,
    add_completion=True,
    no_args_is_help=True,
    rich_markup_mode="rich",
    help="Deblur photos with pretrained networks. `deblur photo.jpg` restores a photo; `deblur demo` shows it "
    "working offline; `deblur COMMAND --help` explains each command.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"deblurcli {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version.")) -> None:
    pass


def _register() -> None:
    from .bench_cmd import bench
    from .calibrate_cmd import calibrate
    from .chart_cmd import chart
    from .deblur_cmd import deblur
    from .defocus_cmd import defocus
    from .demo_cmd import demo
    from .train import train_cmd
    from .weights_cmd import weights_app

    app.command("deblur", cls=DefaultCommand)(deblur)
    app.command("bench")(bench)
    app.command("calibrate")(calibrate)
    app.command("chart")(chart)
    app.command("defocus")(defocus)
    app.command("demo")(demo)
    app.command("train")(train_cmd)
    app.add_typer(weights_app, name="weights")


_register()
COMMANDS = {"deblur", "demo", "train", "weights", "calibrate", "chart", "defocus", "bench"}
PHOTO_COMMANDS = {"deblur", "defocus", "demo"}  # the commands that restore through photos.make_runner


def route(argv: list[str], commands: Collection[str] = COMMANDS) -> list[str]:
    """``argv`` with the default command named first when it names no command and no top-level option:
    ``DefaultGroup``'s rule, and how ``run`` knows which command starts before click parses."""
    if argv and argv[0] not in commands and argv[0] not in TOP_LEVEL:
        return [DefaultGroup.default, *argv]
    return argv


def run() -> None:
    from ..engine.allocator import keep_freed_memory, pause_gc

    keep_freed_memory()
    args = sys.argv[1:]
    routed = route(args)
    if routed and routed[0] in PHOTO_COMMANDS:
        pause_gc()  # make_runner resumes it once the model is loaded
    try:
        app(args=args, prog_name="deblur")
    except SystemExit as e:
        _exit(e.code)
    _exit(0)


def _exit(code: object) -> None:
    """Leave the process. Once torch is loaded, its interpreter teardown (module and C++ static
    destructors) takes ~0.7 s on our 2-core VM — a tenth of a 12 MP photo's time — and does nothing a
    finished command needs: files are written and closed, threads joined. So flush and skip it."""
    import logging
    import os

    if isinstance(code, str):  # sys.exit("message"): print it, status 1
        print(code, file=sys.stderr)
        code = 1
    status = 0 if code is None else int(code)  # type: ignore[call-overload]
    if "torch" not in sys.modules:
        sys.exit(status)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
