// ort_run.js - runs an ONNX file in ONNX Runtime (npm onnxruntime-node, fetched by
// scripts/get-onnxruntime.sh) on an .npy input and compares the output "output" with an .npy of
// expected values (fovea's own, from `fovea export --sample`). Prints
// "max_rel R max_abs A elem_rel E": R = max |ort - fovea| / max |fovea| (the largest difference
// relative to the output's scale), A the largest difference, E = max |ort - fovea| /
// max(|fovea|, 1e-3 max |fovea|) (per value, for information); exits 1 when R exceeds the
// tolerance.
// usage: node ort_run.js NODE_MODULES_DIR MODEL.onnx INPUT.npy EXPECTED.npy [TOL]
'use strict';
const fs = require('fs');
const path = require('path');

function readNpy(file) {
  const b = fs.readFileSync(file);
  if (b.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(file + ': not an .npy file');
  const major = b[6];
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = b.toString('latin1', start, start + hlen);
  if (!header.includes("'<f4'") || header.includes("'fortran_order': True"))
    throw new Error(file + ': not a C-order little-endian float32 array');
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').map(s => s.trim())
    .filter(s => s.length).map(Number);
  const off = start + hlen;
  const count = shape.reduce((a, d) => a * d, 1);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = b.readFloatLE(off + 4 * i);
  return { shape, data };
}

async function main() {
  const [modules, model, input, expected, tolArg] = process.argv.slice(2);
  const tol = tolArg ? Number(tolArg) : 1e-4;
  const ort = require(path.resolve(modules, 'onnxruntime-node'));
  const x = readNpy(input), want = readNpy(expected);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'disabled' });
  const out = await session.run({ input: new ort.Tensor('float32', x.data, x.shape) });
  const got = out.output;
  if (got.dims.join(',') !== want.shape.join(','))
    throw new Error('output shape (' + got.dims + ') differs from fovea\'s (' + want.shape + ')');
  let scale = 0;
  for (const v of want.data) scale = Math.max(scale, Math.abs(v));
  let maxRel = 0, maxAbs = 0;
  for (let i = 0; i < want.data.length; i++) {
    const d = Math.abs(got.data[i] - want.data[i]);
    if (!(d <= Infinity)) { maxRel = Infinity; break; } // NaN
    maxAbs = Math.max(maxAbs, d);
    maxRel = Math.max(maxRel, d / Math.max(Math.abs(want.data[i]), 1e-3 * scale, 1e-30));
  }
  const rel = scale > 0 ? maxAbs / scale : maxAbs;
  console.log('max_rel ' + rel.toExponential(3) + ' max_abs ' + maxAbs.toExponential(3) +
              ' elem_rel ' + maxRel.toExponential(3));
  process.exit(rel <= tol && maxRel < Infinity ? 0 : 1);
}

main().catch(e => { console.error('ort_run: ' + e.message); process.exit(2); });
