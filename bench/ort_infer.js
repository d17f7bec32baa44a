// ort_infer.js - ONNX Runtime's side of the inference benchmark: images/s of an ONNX file run by
// onnxruntime-node on the CPU (intra-op threads = THREADS, inter-op 1, sequential execution, all
// graph optimizations), after BENCH_WARMUP (default 2) warm-up passes, on the same input formula
// as bench_infer.c.
// Prints "images_per_s <median of the timed passes>".
// BENCH_CLOCK=cpu: the process's CPU time instead (as bench_infer.c: one thread, a loaded machine).
// Usage: NODE_PATH=DIR/node_modules node bench/ort_infer.js MODEL.onnx BATCH THREADS PASSES
'use strict';
const ort = require('onnxruntime-node');

async function main() {
    const [path, batchS, threadsS, passesS] = process.argv.slice(2);
    const batch = +batchS, threads = +threadsS, passes = +passesS;
    if (!path || !(batch >= 1) || !(threads >= 1) || !(passes >= 1)) {
        console.error('usage: ort_infer.js MODEL.onnx BATCH THREADS PASSES');
        process.exit(2);
    }
    const s = await ort.InferenceSession.create(path, {
        executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
        executionMode: 'sequential', graphOptimizationLevel: 'all',
    });
    const n = batch * 3 * 224 * 224, data = new Float32Array(n);
    for (let i = 0; i < n; i++)
        data[i] = ((i * 7919) % 1000) / 1000 - 0.5;
    const feeds = {[s.inputNames[0]]: new ort.Tensor('float32', data, [batch, 3, 224, 224])};
    const cpu = process.env.BENCH_CLOCK === 'cpu';
    const now = () => cpu ? (({user, system}) => (user + system) / 1e6)(process.cpuUsage())
                          : Number(process.hrtime.bigint()) / 1e9;
    const t = [];
    const warm = +(process.env.BENCH_WARMUP || 2); // warm-up passes
    for (let p = -warm; p < passes; p++) {
        const t0 = now();
        await s.run(feeds);
        if (p >= 0)
            t.push(now() - t0);
    }
    t.sort((a, b) => a - b);
    console.log(`images_per_s ${(batch / t[passes >> 1]).toFixed(2)}`);
}
main().catch((e) => { console.error(`ort_infer: ${e.message}`); process.exit(1); });
