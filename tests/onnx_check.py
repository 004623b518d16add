"""onnx_check.py: runs an exported ONNX generator in onnxruntime on IN.npy and compares with
REF.npy (what `ganforge sample` / `translate` wrote); also runs the first row alone (the batch
dimension is dynamic), and checks with the onnx package that the model is valid, has opset 17
and no BatchNormalization left (folded). usage: onnx_check.py MODEL IN.npy REF.npy TOL"""
import sys

import numpy as np
import onnx
import onnxruntime as ort

path, inp, ref, tol = sys.argv[1], np.load(sys.argv[2]), np.load(sys.argv[3]), float(sys.argv[4])
model = onnx.load(path)
onnx.checker.check_model(model)
ops = sorted({n.op_type for n in model.graph.node})
opset = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
fail = []
if opset != [17]:
    fail.append("opset %s, not 17" % opset)
if "BatchNormalization" in ops:
    fail.append("BatchNormalization left in the graph")
dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
if dims[0] != "N":
    fail.append("batch dimension not dynamic: %s" % dims)
sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
name = sess.get_inputs()[0].name
out = sess.run(None, {name: inp})[0]
one = sess.run(None, {name: inp[:1]})[0]
err = float(np.abs(out - ref).max()) if out.shape == ref.shape else float("inf")
err1 = float(np.abs(one - ref[:1]).max()) if one.shape == ref[:1].shape else float("inf")
if not err <= tol or not err1 <= tol:
    fail.append("max abs error %.3g (batch of %d) / %.3g (batch of 1) above %.3g; shapes %s %s" %
                (err, len(inp), err1, tol, out.shape, ref.shape))
print("onnx %s: ops %s, input %s %s, max abs error %.3g (batch %d), %.3g (batch 1)" %
      (path.split("/")[-1], ",".join(ops), name, dims, err, len(inp), err1))
for f in fail:
    print("FAIL:", f)
sys.exit(1 if fail else 0)
