"""aiohttp application emulating the Ollama HTTP API (see README.md for the contract)."""

import asyncio
import datetime
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter

from aiohttp import web

from . import catalog, names

VERSION = "0.6.2"
DEFAULT_KEEP_ALIVE = 300.0
# Blob progress is persisted every this many lines so a killed server loses little,
# without rewriting the state file 100,000 times during a stress pull.
FLUSH_EVERY = 500
WRITE_BUFFER = 32 * 1024
UNKNOWN_MANIFEST = "pull model manifest: file does not exist"


def _now_iso(ts=None):
    dt = datetime.datetime.fromtimestamp(ts if ts is not None else time.time(), tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def _dumps(obj):
    return json.dumps(obj, separators=(",", ":"))


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_keep_alive(value):
    """Seconds to keep a model loaded; None means forever. Mirrors api.Duration."""
    if value is None:
        return DEFAULT_KEEP_ALIVE
    if isinstance(value, bool):
        raise ValueError("invalid keep_alive")
    if isinstance(value, (int, float)):
        return None if value < 0 else float(value)
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return None if number < 0 else number
    negative = text.startswith("-")
    body = text.lstrip("+-")
    matches = list(_DURATION.finditer(body))
    if not matches or "".join(m.group(0) for m in matches) != body:
        raise ValueError("time: invalid duration %s" % json.dumps(text))
    if negative:
        return None
    return sum(float(m.group(1)) * _UNIT[m.group(2)] for m in matches)


class State:
    """Installed models, blob progress, published versions; persisted as JSON."""

    def __init__(self, state_dir):
        self.state_dir = state_dir
        self.path = os.path.join(state_dir, "ollama-state.json") if state_dir else None
        self.installed = {}   # key -> {"name", "base", "version", "manifest", "digest", "modified_at"}
        self.blobs = {}       # digest -> {"completed": bytes, "complete": bool}
        self.versions = {}    # base -> published version number
        self.running = {}     # key -> expires_at epoch (None = forever); not persisted, like a restart
        self.stats = Counter()
        self.faults = {}
        self._load()

    def _load(self):
        if not self.path or not os.path.exists(self.path):
            return
        with open(self.path) as handle:
            data = json.load(handle)
        self.installed = data.get("installed", {})
        self.blobs = data.get("blobs", {})
        self.versions = data.get("versions", {})

    def save(self):
        if not self.path:
            return
        os.makedirs(self.state_dir, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.state_dir, prefix=".ollama-state.")
        with os.fdopen(fd, "w") as handle:
            json.dump({"installed": self.installed, "blobs": self.blobs, "versions": self.versions}, handle)
        os.replace(tmp, self.path)

    def version(self, base):
        return self.versions.get(base, 1)

    def take_fault(self, kind):
        """Consume one use of a counted fault, returning its settings or None."""
        fault = self.faults.get(kind)
        if not fault:
            return None
        fault["times"] -= 1
        if fault["times"] <= 0:
            del self.faults[kind]
        return fault

    def prune_blobs(self):
        used = set()
        for entry in self.installed.values():
            used.update(blob["digest"] for blob in catalog.blobs_of(entry["manifest"]))
        for digest, record in list(self.blobs.items()):
            # Partial downloads stay so a later pull resumes; only complete,
            # unreferenced blobs are removed ("removing any unused layers").
            if digest not in used and record.get("complete"):
                del self.blobs[digest]

    def running_models(self):
        now = time.time()
        for key, expires in list(self.running.items()):
            if expires is not None and expires <= now:
                del self.running[key]
        return self.running


def _error(status, message):
    return web.json_response({"error": message}, status=status)


async def _body(request):
    if not request.can_read_body:
        return {}
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=_dumps({"error": "invalid character in request body"}),
                                 content_type="application/json") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text=_dumps({"error": "request body must be a JSON object"}),
                                 content_type="application/json")
    return data


def _model_field(data):
    # Upstream still honours the deprecated `name` field when `model` is empty.
    return data.get("model") or data.get("name") or ""


def _details(entry):
    spec = catalog.MODELS[entry["base"]]
    return {
        "parent_model": "",
        "format": "gguf",
        "family": spec["family"],
        "families": [spec["family"]],
        "parameter_size": spec["parameter_size"],
        "quantization_level": spec["quantization_level"],
    }


def _tag_entry(entry):
    return {
        "name": entry["name"],
        "model": entry["name"],
        "modified_at": entry["modified_at"],
        "size": catalog.total_size(entry["manifest"]),
        "digest": entry["digest"],
        "details": _details(entry),
    }


class Handlers:
    def __init__(self, state):
        self.state = state

    def lookup(self, raw):
        try:
            key = names.key(raw)
        except names.InvalidName:
            return None, None
        return key, self.state.installed.get(key)

    # ---- public API -------------------------------------------------------
    async def root(self, request):
        return web.Response(text="Ollama is running")

    async def version(self, request):
        return web.json_response({"version": VERSION})

    async def tags(self, request):
        models = sorted(self.state.installed.values(), key=lambda e: e["modified_at"], reverse=True)
        return web.json_response({"models": [_tag_entry(e) for e in models]})

    async def ps(self, request):
        out = []
        for key, expires in sorted(self.state.running_models().items()):
            entry = self.state.installed.get(key)
            if not entry:
                continue
            item = _tag_entry(entry)
            item.pop("modified_at")
            item["expires_at"] = _now_iso(expires if expires is not None else time.time() + 10 * 365 * 86400)
            item["size_vram"] = item["size"]
            out.append(item)
        return web.json_response({"models": out})

    async def show(self, request):
        data = await _body(request)
        raw = _model_field(data)
        _key, entry = self.lookup(raw)
        if entry is None:
            return _error(404, "model '%s' not found" % raw)
        spec = catalog.MODELS[entry["base"]]
        params_lines = []
        for pname, pvalue in spec["params"].items():
            for item in pvalue if isinstance(pvalue, list) else [pvalue]:
                params_lines.append("%-30s %s" % (pname, json.dumps(item) if isinstance(item, str) else item))
        model_blob = entry["manifest"]["layers"][0]["digest"]
        modelfile = (
            "# Modelfile generated by \"ollama show\"\n"
            "# To build a new Modelfile based on this, replace FROM with:\n# FROM %s\n\n"
            "FROM /root/.ollama/models/blobs/%s\nTEMPLATE \"\"\"%s\"\"\"\n%s\n"
            % (entry["name"], model_blob.replace(":", "-"), spec["template"],
               "\n".join("PARAMETER " + " ".join(line.split(None, 1)) for line in params_lines))
        )
        arch = spec["family"]
        return web.json_response({
            "license": "LICENSE (%d bytes, emulated)" % spec["license_size"],
            "modelfile": modelfile,
            "parameters": "\n".join(params_lines),
            "template": spec["template"],
            "details": _details(entry),
            "model_info": {
                "general.architecture": arch,
                "general.file_type": 2,
                "general.parameter_count": spec["parameter_count"],
                "general.quantization_version": 2,
                "%s.context_length" % arch: spec["context_length"],
                "%s.embedding_length" % arch: spec["embedding_length"],
            },
            "capabilities": ["embedding"] if spec.get("embedding") else ["completion"],
            "modified_at": entry["modified_at"],
        })

    async def delete(self, request):
        data = await _body(request)
        raw = _model_field(data)
        key, entry = self.lookup(raw)
        if entry is None:
            return _error(404, "model '%s' not found" % raw)
        del self.state.installed[key]
        self.state.running.pop(key, None)
        self.state.prune_blobs()
        self.state.save()
        return web.Response(status=200)

    async def copy(self, request):
        data = await _body(request)
        source, destination = data.get("source", ""), data.get("destination", "")
        _key, entry = self.lookup(source)
        if entry is None:
            return _error(404, "model '%s' not found" % source)
        try:
            dest_key = names.key(destination)
        except names.InvalidName:
            return _error(400, "invalid destination name")
        self.state.installed[dest_key] = dict(entry, name=names.display(destination), modified_at=_now_iso())
        self.state.save()
        return web.Response(status=200)

    async def _load_unload(self, request, data, kind):
        raw = _model_field(data)
        key, entry = self.lookup(raw)
        if entry is None:
            return _error(404, "model \"%s\" not found, try pulling it first" % raw), None, None
        try:
            keep = parse_keep_alive(data.get("keep_alive"))
        except ValueError as exc:
            return _error(400, str(exc)), None, None
        return None, key, keep

    def _touch(self, key, keep):
        if keep == 0:
            self.state.running.pop(key, None)
            return "unload"
        self.state.running[key] = None if keep is None else time.time() + keep
        return "load"

    async def generate(self, request):
        data = await _body(request)
        err, key, keep = await self._load_unload(request, data, "generate")
        if err is not None:
            return err
        base = {"model": self.state.installed[key]["name"], "created_at": _now_iso()}
        if not data.get("prompt"):
            reason = self._touch(key, keep)
            return web.json_response(dict(base, response="", done=True, done_reason=reason))
        self._touch(key, keep)
        return await self._answer(request, data, base, lambda text: {"response": text})

    async def chat(self, request):
        data = await _body(request)
        err, key, keep = await self._load_unload(request, data, "chat")
        if err is not None:
            return err
        base = {"model": self.state.installed[key]["name"], "created_at": _now_iso()}
        if not data.get("messages"):
            reason = self._touch(key, keep)
            return web.json_response(dict(base, message={"role": "assistant", "content": ""},
                                          done=True, done_reason=reason))
        self._touch(key, keep)
        return await self._answer(request, data, base,
                                  lambda text: {"message": {"role": "assistant", "content": text}})

    async def _answer(self, request, data, base, wrap):
        words = ["This", " is", " the", " local", " Ollama", " emulator."]
        final = dict(base, done=True, done_reason="stop", total_duration=1000000, load_duration=1000,
                     prompt_eval_count=1, prompt_eval_duration=1000, eval_count=len(words), eval_duration=1000)
        if data.get("stream") is False:
            return web.json_response(dict(final, **wrap("".join(words))))
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await resp.prepare(request)
        for word in words:
            await resp.write((_dumps(dict(base, done=False, **wrap(word))) + "\n").encode())
        await resp.write((_dumps(dict(final, **wrap(""))) + "\n").encode())
        await resp.write_eof()
        return resp

    # ---- pull ----------------------------------------------------------------
    def _plan(self, manifest, progress_lines):
        """Yield progress dicts for every blob, updating resumable blob progress."""
        blobs = catalog.blobs_of(manifest)
        biggest = max(range(len(blobs)), key=lambda i: blobs[i]["size"])
        for index, blob in enumerate(blobs):
            digest, total = blob["digest"], blob["size"]
            record = self.state.blobs.get(digest) or {"completed": 0, "complete": False}
            self.state.blobs[digest] = record
            status = "pulling %s" % digest[7:19]
            if record["complete"] or record["completed"] >= total:
                record.update(completed=total, complete=True)
                yield {"status": status, "digest": digest, "total": total, "completed": total}
                continue
            steps = max(1, progress_lines or 8) if index == biggest else 1
            start = record["completed"]
            # Upstream omits `completed` until the first bytes land.
            first = {"status": status, "digest": digest, "total": total}
            if start:
                first["completed"] = start
            yield first
            for step in range(1, steps + 1):
                record["completed"] = start + (total - start) * step // steps
                yield {"status": status, "digest": digest, "total": total, "completed": record["completed"]}
            record["complete"] = True

    async def pull(self, request):
        data = await _body(request)
        raw = _model_field(data)
        stream = data.get("stream", True) is not False
        try:
            host, namespace, model, tag = names.parse(raw)
        except names.InvalidName:
            return _error(400, "invalid model name")
        base = None
        if host.lower() == names.DEFAULT_HOST and namespace.lower() == names.DEFAULT_NAMESPACE:
            base = catalog.resolve("%s:%s" % (model, tag))
        cut = self.state.take_fault("cut")
        err = self.state.take_fault("error")
        delay = float(self.state.faults.get("delay", {}).get("delay_per_line", 0) or 0)
        progress_lines = int(self.state.faults.get("progress", {}).get("progress_lines", 0) or 0)

        def lines():
            yield {"status": "pulling manifest"}
            if base is None:
                yield {"error": UNKNOWN_MANIFEST}
                return
            manifest, digest = catalog.build_manifest(base, self.state.version(base))
            for emitted, item in enumerate(self._plan(manifest, progress_lines), start=1):
                if emitted % FLUSH_EVERY == 0:
                    self.state.save()
                yield item
            yield {"status": "verifying sha256 digest"}
            yield {"status": "writing manifest"}
            key = names.key(raw)
            self.state.installed[key] = {
                "name": names.display(raw), "base": base, "version": self.state.version(base),
                "manifest": manifest, "digest": digest, "modified_at": _now_iso(),
            }
            self.state.prune_blobs()
            self.state.save()
            yield {"status": "success"}

        if not stream:
            last = None
            for item in lines():
                if "error" in item:
                    self.state.save()
                    return _error(500, item["error"])
                last = item
            return web.json_response(last)

        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await resp.prepare(request)
        buffer = []
        size = 0
        count = 0
        try:
            for item in lines():
                if cut and count >= cut["cut_after_lines"]:
                    await resp.write("".join(buffer).encode())
                    self.state.save()
                    # Drop the connection without the terminating chunk: the client
                    # must see an incomplete body, as when a proxy or node dies.
                    request.transport.close()
                    return resp
                if err and count >= err["error_after_lines"]:
                    buffer.append(_dumps({"error": err.get("message") or "emulated failure"}) + "\n")
                    break
                line = _dumps(item) + "\n"
                buffer.append(line)
                size += len(line)
                count += 1
                if delay or size >= WRITE_BUFFER:
                    await resp.write("".join(buffer).encode())
                    buffer, size = [], 0
                    if delay:
                        await asyncio.sleep(delay)
            if buffer:
                await resp.write("".join(buffer).encode())
            await resp.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            self.state.save()
            raise
        self.state.save()
        return resp

    # ---- emulator admin ------------------------------------------------------
    async def stats(self, request):
        total = sum(self.state.stats.values())
        return web.json_response({"total": total, "requests": dict(self.state.stats)})

    async def stats_reset(self, request):
        self.state.stats.clear()
        return web.json_response({"total": 0, "requests": {}})

    async def faults(self, request):
        data = await _body(request)
        try:
            if "cut_after_lines" in data:
                self.state.faults["cut"] = {"cut_after_lines": int(data["cut_after_lines"]),
                                            "times": int(data.get("times", 1))}
            if "error_after_lines" in data:
                self.state.faults["error"] = {"error_after_lines": int(data["error_after_lines"]),
                                              "message": str(data.get("message") or "emulated failure"),
                                              "times": int(data.get("times", 1))}
            if "delay_per_line" in data:
                self.state.faults["delay"] = {"delay_per_line": float(data["delay_per_line"])}
            if "progress_lines" in data:
                self.state.faults["progress"] = {"progress_lines": int(data["progress_lines"])}
        except (TypeError, ValueError) as exc:
            return _error(400, "invalid fault: %s" % exc)
        return web.json_response({"faults": self.state.faults})

    async def faults_clear(self, request):
        self.state.faults.clear()
        return web.json_response({"faults": {}})

    async def get_faults(self, request):
        return web.json_response({"faults": self.state.faults})

    async def publish(self, request):
        data = await _body(request)
        raw = _model_field(data)
        try:
            _host, _namespace, model, tag = names.parse(raw)
        except names.InvalidName:
            return _error(400, "invalid model name")
        base = catalog.resolve("%s:%s" % (model, tag))
        if base is None:
            return _error(404, "model '%s' is not in the emulator catalog" % raw)
        self.state.versions[base] = self.state.version(base) + 1
        self.state.save()
        _manifest, digest = catalog.build_manifest(base, self.state.version(base))
        return web.json_response({"model": base, "version": self.state.version(base), "digest": digest})

    async def reset(self, request):
        self.state.installed.clear()
        self.state.blobs.clear()
        self.state.running.clear()
        self.state.faults.clear()
        self.state.save()
        return web.json_response({"reset": True})


@web.middleware
async def count_and_log(request, handler):
    state = request.app["state"]
    if not request.path.startswith("/_emulator/"):
        state.stats["%s %s" % (request.method, request.path)] += 1
    started = time.monotonic()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        elapsed = time.monotonic() - started
        sys.stderr.write("%s %s %s %d %.3fs\n" % (request.remote, request.method, request.path_qs, status, elapsed))
        sys.stderr.flush()


def create_app(state_dir=None):
    state = State(state_dir)
    handlers = Handlers(state)
    app = web.Application(middlewares=[count_and_log], client_max_size=16 * 1024 * 1024)
    app["state"] = state
    app.router.add_get("/", handlers.root)
    app.router.add_get("/api/version", handlers.version)
    app.router.add_get("/api/tags", handlers.tags)
    app.router.add_get("/api/ps", handlers.ps)
    app.router.add_post("/api/show", handlers.show)
    app.router.add_delete("/api/delete", handlers.delete)
    app.router.add_post("/api/copy", handlers.copy)
    app.router.add_post("/api/pull", handlers.pull)
    app.router.add_post("/api/generate", handlers.generate)
    app.router.add_post("/api/chat", handlers.chat)
    app.router.add_get("/_emulator/stats", handlers.stats)
    app.router.add_post("/_emulator/stats/reset", handlers.stats_reset)
    app.router.add_get("/_emulator/faults", handlers.get_faults)
    app.router.add_post("/_emulator/faults", handlers.faults)
    app.router.add_post("/_emulator/faults/clear", handlers.faults_clear)
    app.router.add_post("/_emulator/catalog/publish", handlers.publish)
    app.router.add_post("/_emulator/reset", handlers.reset)
    return app
