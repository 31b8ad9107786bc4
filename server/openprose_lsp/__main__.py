"""`python -m openprose_lsp [--tcp HOST:PORT]`: the same server as `prose lsp`."""

from __future__ import annotations

import argparse


def cli() -> None:
    parser = argparse.ArgumentParser(prog="openprose_lsp", description="OpenProse language server (stdio by default)")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP address instead of stdio")
    args = parser.parse_args()
    from .server import main

    main(tcp=args.tcp)


if __name__ == "__main__":
    cli()
