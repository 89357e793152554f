"""`python -m gateway.cli`: the `leadgate` command."""

from gateway.cli import cli

if __name__ == "__main__":
    cli()
