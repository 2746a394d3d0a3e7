"""The emulated registry: which models exist and what their manifests look like.

Sizes, families and quantisations follow what registry.ollama.ai serves for these
tags; digests are derived deterministically from the entry and its published
version (the real bytes are not available offline), so a `catalog/publish` bump
changes the model blob and the config, while template/license/params layers are
shared between versions exactly like upstream re-publishes.
"""

import hashlib
import json

MEDIA_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_CONFIG = "application/vnd.docker.container.image.v1+json"
MEDIA = {
    "model": "application/vnd.ollama.image.model",
    "template": "application/vnd.ollama.image.template",
    "license": "application/vnd.ollama.image.license",
    "params": "application/vnd.ollama.image.params",
    "system": "application/vnd.ollama.image.system",
}

LLAMA3_TEMPLATE = (
    "{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>{{ end }}"
    "{{ if .Prompt }}<|start_header_id|>user<|end_header_id|>\n\n{{ .Prompt }}<|eot_id|>{{ end }}"
    "<|start_header_id|>assistant<|end_header_id|>\n\n{{ .Response }}<|eot_id|>"
)
MISTRAL_TEMPLATE = "[INST] {{ if .System }}{{ .System }} {{ end }}{{ .Prompt }} [/INST]"
CHATML_TEMPLATE = (
    "{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}"
    "{{ if .Prompt }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n{{ end }}<|im_start|>assistant\n"
)
GEMMA_TEMPLATE = (
    "<start_of_turn>user\n{{ .Prompt }}<end_of_turn>\n<start_of_turn>model\n{{ .Response }}<end_of_turn>\n"
)
PHI3_TEMPLATE = (
    "{{ if .System }}<|system|>\n{{ .System }}<|end|>\n{{ end }}<|user|>\n{{ .Prompt }}<|end|>\n<|assistant|>\n"
)
EMBED_TEMPLATE = "{{ .Prompt }}"

# base id -> description; every size is bytes of the GGUF blob.
MODELS = {
    "llama3:8b": dict(family="llama", parameter_size="8.0B", quantization_level="Q4_0", size=4661211424,
                      parameter_count=8030261248, context_length=8192, embedding_length=4096,
                      template=LLAMA3_TEMPLATE, license_size=12403,
                      params={"num_keep": 24, "stop": ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]}),
    "llama3:70b": dict(family="llama", parameter_size="70.6B", quantization_level="Q4_0", size=39969732416,
                       parameter_count=70553706496, context_length=8192, embedding_length=8192,
                       template=LLAMA3_TEMPLATE, license_size=12403,
                       params={"num_keep": 24, "stop": ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]}),
    "llama3.1:8b": dict(family="llama", parameter_size="8.0B", quantization_level="Q4_K_M", size=4920738944,
                        parameter_count=8030261312, context_length=131072, embedding_length=4096,
                        template=LLAMA3_TEMPLATE, license_size=12320, params={"stop": ["<|eot_id|>"]}),
    "llama3.2:3b": dict(family="llama", parameter_size="3.2B", quantization_level="Q4_K_M", size=2019377376,
                        parameter_count=3212749888, context_length=131072, embedding_length=3072,
                        template=LLAMA3_TEMPLATE, license_size=7711, params={"stop": ["<|eot_id|>"]}),
    "mistral:7b": dict(family="llama", parameter_size="7.2B", quantization_level="Q4_0", size=4113289856,
                       parameter_count=7248023552, context_length=32768, embedding_length=4096,
                       template=MISTRAL_TEMPLATE, license_size=11356, params={"stop": ["[INST]", "[/INST]"]}),
    "nomic-embed-text:v1.5": dict(family="nomic-bert", parameter_size="137M", quantization_level="F16", size=274290656,
                                  parameter_count=136727040, context_length=2048, embedding_length=768,
                                  template=EMBED_TEMPLATE, license_size=11357, params={"num_ctx": 8192},
                                  embedding=True),
    "qwen2.5:7b": dict(family="qwen2", parameter_size="7.6B", quantization_level="Q4_K_M", size=4683073184,
                       parameter_count=7615616512, context_length=32768, embedding_length=3584,
                       template=CHATML_TEMPLATE, license_size=11343,
                       params={"stop": ["<|im_start|>", "<|im_end|>"]}),
    "phi3:3.8b": dict(family="phi3", parameter_size="3.8B", quantization_level="Q4_0", size=2176177120,
                      parameter_count=3821079552, context_length=131072, embedding_length=3072,
                      template=PHI3_TEMPLATE, license_size=1084,
                      params={"stop": ["<|end|>", "<|user|>", "<|assistant|>"]}),
    "gemma2:9b": dict(family="gemma2", parameter_size="9.2B", quantization_level="Q4_0", size=5443152320,
                      parameter_count=9241705984, context_length=8192, embedding_length=3584,
                      template=GEMMA_TEMPLATE, license_size=8433,
                      params={"stop": ["<start_of_turn>", "<end_of_turn>"]}),
    "tinyllama:1.1b": dict(family="llama", parameter_size="1B", quantization_level="Q4_0", size=637699456,
                           parameter_count=1100048384, context_length=2048, embedding_length=2048,
                           template=CHATML_TEMPLATE, license_size=11357,
                           params={"stop": ["<|im_start|>", "<|im_end|>"]}),
}

# Tags that point at the same manifest upstream.
ALIASES = {
    "llama3:latest": "llama3:8b",
    "llama3.1:latest": "llama3.1:8b",
    "llama3.2:latest": "llama3.2:3b",
    "mistral:latest": "mistral:7b",
    "nomic-embed-text:latest": "nomic-embed-text:v1.5",
    "qwen2.5:latest": "qwen2.5:7b",
    "phi3:mini": "phi3:3.8b",
    "phi3:latest": "phi3:3.8b",
    "gemma2:latest": "gemma2:9b",
    "tinyllama:latest": "tinyllama:1.1b",
}


def _sha(*parts):
    return "sha256:" + hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def resolve(model_tag):
    """Map a library ``model:tag`` to its catalog base id, or None."""
    model_tag = model_tag.lower()
    if model_tag in MODELS:
        return model_tag
    return ALIASES.get(model_tag)


def params_text(params):
    return json.dumps(params, separators=(",", ":"))


def build_manifest(base, version):
    """Return (manifest_dict, manifest_digest, layer_list) for a catalog entry version."""
    spec = MODELS[base]
    template = spec["template"]
    params = params_text(spec["params"])
    layers = [
        {"mediaType": MEDIA["model"], "digest": _sha(base, "model", version), "size": spec["size"]},
        {"mediaType": MEDIA["template"], "digest": _sha(base, "template", template), "size": len(template.encode())},
        {"mediaType": MEDIA["license"], "digest": _sha(base, "license"), "size": spec["license_size"]},
        {"mediaType": MEDIA["params"], "digest": _sha(base, "params", params), "size": len(params.encode())},
    ]
    config = {
        "model_format": "gguf",
        "model_family": spec["family"],
        "model_families": [spec["family"]],
        "model_type": spec["parameter_size"],
        "file_type": spec["quantization_level"],
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]},
    }
    config_bytes = json.dumps(config, separators=(",", ":")).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "digest": "sha256:" + hashlib.sha256(config_bytes).hexdigest(),
                   "size": len(config_bytes)},
        "layers": layers,
    }
    digest = hashlib.sha256(json.dumps(manifest, separators=(",", ":")).encode()).hexdigest()
    return manifest, digest


def blobs_of(manifest):
    """All blobs a pull downloads: the layers and then the config, like upstream."""
    return [*manifest["layers"], manifest["config"]]


def total_size(manifest):
    return sum(blob["size"] for blob in blobs_of(manifest))
