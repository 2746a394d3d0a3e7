"""CLI: python -m k8s_emulator --host 127.0.0.1 --port 16443 --state-dir DIR [...]"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

import yaml
from aiohttp import web

from .app import Emulator
from .proxy import parse_backend

TOKEN = "local-platform-emulator-token"


def kubeconfig(server: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local-platform", "cluster": {"server": server}}],
        "users": [{"name": "local-platform", "user": {"token": TOKEN}}],
        "contexts": [{"name": "local-platform",
                      "context": {"cluster": "local-platform", "user": "local-platform", "namespace": "default"}}],
        "current-context": "local-platform",
        "preferences": {},
    }


def write_kubeconfig(path: str, server: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        yaml.safe_dump(kubeconfig(server), handle, default_flow_style=False)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m k8s_emulator",
                                     description="Kubernetes API server emulator for local tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LP_K8S_PORT", "16443")),
                        help="0 picks a free port (printed on stderr and written to the kubeconfig)")
    parser.add_argument("--state-dir", default=None, help="directory for the JSON state (omit: in memory only)")
    parser.add_argument("--proxy-backend", action="append", default=[], metavar="NS_GLOB/SVC_GLOB:PORT=URL",
                        help="route the Service proxy for matching services to URL (repeatable)")
    parser.add_argument("--kubeconfig-out", default=None, help="write a kubeconfig for this server here")
    parser.add_argument("--cpu-nodes", type=int, default=3, help="fake CPU nodes created on first start")
    parser.add_argument("--gpu-nodes", type=int, default=1, help="fake GPU nodes created on first start")
    args = parser.parse_args(argv)
    try:
        args.backends = [parse_backend(text) for text in args.proxy_backend]
    except ValueError as exc:
        parser.error("--proxy-backend: %s" % exc)
    if args.cpu_nodes < 0 or args.gpu_nodes < 0:
        parser.error("--cpu-nodes/--gpu-nodes must be >= 0")
    return args


async def serve(args: argparse.Namespace) -> None:
    emulator = Emulator(state_dir=args.state_dir, backends=args.backends, cpu_nodes=args.cpu_nodes,
                        gpu_nodes=args.gpu_nodes)
    runner = web.AppRunner(emulator.make_app(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    server = "http://%s:%d" % (args.host, port)
    if args.kubeconfig_out:
        write_kubeconfig(args.kubeconfig_out, server)
    print("k8s-emulator listening on %s" % server, file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv=None) -> int:
    args = parse_args(argv)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
