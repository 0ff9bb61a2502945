# Quantises f32 values with llama.cpp's own C reference quantisers (quantize_row_{q4_K,q6_K,q5_0,q8_0}_ref in the
# libggml-base that node-llama-cpp ships, called through ctypes: the code llama-quantize runs without an importance
# matrix) and counts the bytes that differ from ours; dequantises our blocks with llama.cpp's gguf-py
# (gguf.quants.dequantize) and with ggml's dequantize_row_* and counts the values whose bits differ.
# Usage: gguf_kquants_check.py LIBGGML_BASE.so VALUES.f32 TYPE=OURS_FILE... -> JSON { TYPE: { bytes, differ, dequant_differ } }
import ctypes, json, sys

import numpy as np
import gguf

lib = ctypes.CDLL(sys.argv[1])
x = np.fromfile(sys.argv[2], dtype=np.float32)
out = {}
for arg in sys.argv[3:]:
    name, path = arg.split("=", 1)
    qtype = gguf.GGMLQuantizationType[name.upper()]
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    ours = np.fromfile(path, dtype=np.uint8)
    theirs = np.zeros(x.size // block * size, dtype=np.uint8)
    getattr(lib, f"quantize_row_{name}_ref")(x.ctypes.data_as(ctypes.c_void_p), theirs.ctypes.data_as(ctypes.c_void_p), ctypes.c_int64(x.size))
    py = gguf.quants.dequantize(ours.reshape(-1, size), qtype).reshape(-1).astype(np.float32)
    c = np.zeros(x.size, dtype=np.float32)
    getattr(lib, f"dequantize_row_{name}")(ours.ctypes.data_as(ctypes.c_void_p), c.ctypes.data_as(ctypes.c_void_p), ctypes.c_int64(x.size))
    out[name] = {
        "bytes": int(theirs.size),
        "differ": int((theirs != ours).sum()) if theirs.size == ours.size else -1,
        "dequant_differ": int((py.view(np.uint32) != c.view(np.uint32)).sum()),
    }
print(json.dumps(out))
