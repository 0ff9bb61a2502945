# Reads an exported GGUF LoRA adapter with llama.cpp's own Python package (gguf-py, GGUFReader), used here as a
# second, official reader beside our spec-written gguf_check.py, and maps Hugging Face module names to GGUF
# tensor names with its TensorNameMap (the table convert_hf_to_gguf.py uses).
# Usage: gguf_official_check.py GGUF_WHEEL_OR_DIR FILE.gguf ARCH N_LAYERS MODULES_JSON -> JSON on stdout
import json, sys

sys.path.insert(0, sys.argv[1])
import gguf  # noqa: E402

path, arch, n_layers, modules = sys.argv[2], sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5])
reader = gguf.GGUFReader(path)


def field_value(f):
    t = f.types[0]
    if t == gguf.GGUFValueType.STRING:
        return bytes(f.parts[f.data[0]]).decode("utf-8")
    if t == gguf.GGUFValueType.ARRAY:
        return None
    return f.parts[f.data[0]].tolist()[0]


kv = {name: field_value(f) for name, f in reader.fields.items() if not name.startswith("GGUF.")}
tensors = {t.name: {"ne": [int(x) for x in t.shape], "type": int(t.tensor_type), "data": t.data.astype("float64").reshape(-1).tolist()}
           for t in reader.tensors}
arch_id = next(k for k, v in gguf.MODEL_ARCH_NAMES.items() if v == arch)
name_map = gguf.get_tensor_name_map(arch_id, n_layers)
mapped = {m: name_map.get_name(m + ".weight", try_suffixes=(".weight",)) for m in modules}
print(json.dumps({"kv": kv, "tensors": tensors, "mapped": mapped, "alignment": int(reader.alignment)}))
