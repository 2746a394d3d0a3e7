import argparse
import sys

from aiohttp import web

from .app import create_app


def main(argv=None):
    parser = argparse.ArgumentParser(prog="ollama_server", description="Local Ollama API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=21434)
    parser.add_argument("--state-dir", default=None, help="directory for persistent JSON state")
    args = parser.parse_args(argv)
    sys.stderr.write("ollama_server listening on http://%s:%d (state: %s)\n" % (args.host, args.port, args.state_dir))
    sys.stderr.flush()
    # The middleware already logs one line per request; aiohttp's access log would double it.
    web.run_app(create_app(args.state_dir), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
