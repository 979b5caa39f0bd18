"""The chat app: `python app.py` opens it on the seeds' index (built first if absent) at 127.0.0.1:7860.

Thin on purpose: parse the options, then `qa.faces.server.serve`, which opens the index and the model once
and serves the chat and the REST API. `qa serve` does the same, with more options (docs/server.md).
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ask questions about news articles in the browser.")
    parser.add_argument(
        "--index-dir",
        default=os.environ.get("QA_INDEX_DIR", "index"),
        help="folder that holds the index (default: $QA_INDEX_DIR or ./index)",
    )
    parser.add_argument("--source", default=None, help="folder to index first if the index is absent (default: seeds/)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    parser.add_argument("--share", action="store_true", help="ask Gradio for a public link (off by default)")
    parser.add_argument("--editors", default=os.environ.get("QA_EDITORS") or None, help="users file of `qa user add` (default: none, nobody can add articles)")
    parser.add_argument("--readers-login", action="store_true", help="everyone logs in, readers too (needs --editors)")
    args = parser.parse_args(argv)

    from qa.errors import QAError
    from qa.faces.server import serve

    try:
        serve(
            index_dir=args.index_dir,
            source=args.source,
            host=args.host,
            port=args.port,
            share=args.share,
            editors=args.editors,
            readers_login=args.readers_login,
        )
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
