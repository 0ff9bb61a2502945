# Quantises f32 values to Q8_0 with llama.cpp's own Python package (gguf-py's quants.quantize, the code
# convert_hf_to_gguf.py --outtype q8_0 runs) and counts the bytes that differ from ours.
# Usage: gguf_q8_check.py GGUF_WHEEL_OR_DIR VALUES.f32 OURS.q8_0 -> JSON { "bytes": n, "differ": n } on stdout
import json, sys

sys.path.insert(0, sys.argv[1])
import numpy as np  # noqa: E402
import gguf  # noqa: E402

x = np.fromfile(sys.argv[2], dtype=np.float32).reshape(-1, 32)
theirs = gguf.quants.quantize(x, gguf.GGMLQuantizationType.Q8_0).reshape(-1)
ours = np.fromfile(sys.argv[3], dtype=np.uint8)
print(json.dumps({"bytes": int(theirs.size), "differ": int((theirs != ours).sum()) if theirs.size == ours.size else -1}))
