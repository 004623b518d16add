"""onnx_check.py: runs an exported ONNX generator in onnxruntime on IN.npy and compares with
REF.npy (what `ganforge sample` / `translate` wrote); also runs the first row alone (the batch
dimension is dynamic), and checks with the onnx package that the model is valid, has opset 17
and no BatchNormalization left (folded). With LABELS (mod | K) the model is a conditional generator:
a second input "label" int64 [N] gets class i mod K of the graph (as `ganforge sample -o x.npy`) or K
for every row (`--class K`), and the labels -1 and K must make onnxruntime fail the run; without it
the model must have one input. usage: onnx_check.py MODEL IN.npy REF.npy TOL [LABELS]"""
import sys

import numpy as np
import onnx
import onnx.numpy_helper
import onnxruntime as ort

path, inp, ref, tol = sys.argv[1], np.load(sys.argv[2]), np.load(sys.argv[3]), float(sys.argv[4])
labels = sys.argv[5] if len(sys.argv) > 5 else None
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
inputs = [(i.name, i.type.tensor_type.elem_type, [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim])
          for i in model.graph.input]
K = 0
feed = lambda x: {inputs[0][0]: x}
if labels is None:
    if len(inputs) != 1:
        fail.append("an unconditional generator with inputs %s" % inputs)
else:
    if len(inputs) != 2 or inputs[1] != ("label", onnx.TensorProto.INT64, ["N"]):
        fail.append("a conditional generator's inputs: %s, not [z, label int64 [N]]" % inputs)
    K = int(next(onnx.numpy_helper.to_array(t)[0] for t in model.graph.initializer if t.name == "label_K"))
    y = np.arange(len(inp)) % K if labels == "mod" else np.full(len(inp), int(labels))
    feed = lambda x, y=y: {inputs[0][0]: x, "label": y[:len(x)].astype(np.int64)}
so = ort.SessionOptions()
so.log_severity_level = 4  # the refused labels below: no error log
sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
name = sess.get_inputs()[0].name
out = sess.run(None, feed(inp))[0]
one = sess.run(None, feed(inp[:1]))[0]
for bad in ([-1, K] if labels is not None else []):
    try:
        sess.run(None, {name: inp[:2], "label": np.array([0, bad], dtype=np.int64)})
        fail.append("label %d of %d classes: onnxruntime ran" % (bad, K))
    except Exception as e:  # onnxruntime's Gather: index out of range
        if "out of" not in str(e) and "range" not in str(e):
            fail.append("label %d: unexpected error %s" % (bad, str(e)[:200]))
err = float(np.abs(out - ref).max()) if out.shape == ref.shape else float("inf")
err1 = float(np.abs(one - ref[:1]).max()) if one.shape == ref[:1].shape else float("inf")
if not err <= tol or not err1 <= tol:
    fail.append("max abs error %.3g (batch of %d) / %.3g (batch of 1) above %.3g; shapes %s %s" %
                (err, len(inp), err1, tol, out.shape, ref.shape))
print("onnx %s: ops %s, input %s %s%s, max abs error %.3g (batch %d), %.3g (batch 1)" %
      (path.split("/")[-1], ",".join(ops), name, dims,
       "" if labels is None else " + label (%d classes, labels=%s; -1 and %d refused)" % (K, labels, K),
       err, len(inp), err1))
for f in fail:
    print("FAIL:", f)
sys.exit(1 if fail else 0)
