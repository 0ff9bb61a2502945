# Runs llama.cpp's own quantiser, llama_model_quantize (what `llama-quantize IN.gguf OUT.gguf Q4_K_M` calls), from
# the libllama that node-llama-cpp ships (ctypes; the parameter struct as this build's llama.h declares it) on our
# F16 GGUF, then reads its output and our Q4_K_M GGUF with gguf-py's GGUFReader and compares them tensor by tensor.
# Usage: gguf_q4km_check.py LIBLLAMA.so F16.gguf OURS_Q4_K_M.gguf OUT.gguf
#   -> JSON { "rc", "tensors": n, "types": { type name: count }, "type_differ": [names], "bytes_differ": [names] }
import ctypes, json, sys
from collections import Counter

import numpy as np
import gguf

LLAMA_FTYPE_MOSTLY_Q4_K_M = 15


class QuantizeParams(ctypes.Structure):
    _fields_ = [
        ("nthread", ctypes.c_int32), ("ftype", ctypes.c_int32), ("output_tensor_type", ctypes.c_int32),
        ("token_embedding_type", ctypes.c_int32), ("allow_requantize", ctypes.c_bool), ("quantize_output_tensor", ctypes.c_bool),
        ("only_copy", ctypes.c_bool), ("pure", ctypes.c_bool), ("keep_split", ctypes.c_bool), ("dry_run", ctypes.c_bool),
        ("imatrix", ctypes.c_void_p), ("kv_overrides", ctypes.c_void_p), ("tt_overrides", ctypes.c_void_p),
        ("prune_layers", ctypes.c_void_p), ("max_buf_size", ctypes.c_size_t),
    ]


lib = ctypes.CDLL(sys.argv[1])
lib.llama_model_quantize_default_params.restype = QuantizeParams
lib.llama_model_quantize.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(QuantizeParams)]
lib.llama_model_quantize.restype = ctypes.c_uint32
lib.llama_backend_init()
params = lib.llama_model_quantize_default_params()
params.nthread = 2
params.ftype = LLAMA_FTYPE_MOSTLY_Q4_K_M
rc = lib.llama_model_quantize(sys.argv[2].encode(), sys.argv[4].encode(), ctypes.byref(params))

theirs = {t.name: t for t in gguf.GGUFReader(sys.argv[4]).tensors}
ours = {t.name: t for t in gguf.GGUFReader(sys.argv[3]).tensors}
print(json.dumps({
    "rc": int(rc),
    "tensors": len(ours),
    "names_match": sorted(theirs) == sorted(ours),
    "types": Counter(t.tensor_type.name for t in ours.values()),
    "type_differ": [n for n in ours if n in theirs and ours[n].tensor_type != theirs[n].tensor_type],
    "bytes_differ": [n for n in ours if n in theirs and not np.array_equal(np.asarray(ours[n].data).view(np.uint8), np.asarray(theirs[n].data).view(np.uint8))],
}))
