// ONNX Runtime's side of tests/crosscheck.sh, through onnxruntime-node.
//   node ort.js run MODEL.onnx INPUTS.f32 N C H W OUTPUTS.f32
//       runs N samples (float32, N x C x H x W) and writes the outputs
//   node ort.js bench MODEL.onnx C H W BATCH THREADS SECONDS
//       prints images per second of inference at that batch and thread count
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function session(model, threads) {
  return ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
}

async function run([model, inputs, n, c, h, w, outputs]) {
  const s = await session(model, 1);
  const buf = fs.readFileSync(inputs);
  const x = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const shape = [+n, +c, +h, +w];
  const result = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, shape) });
  const y = result[s.outputNames[0]].data;
  fs.writeFileSync(outputs, Buffer.from(y.buffer, y.byteOffset, y.byteLength));
}

async function bench([model, c, h, w, batch, threads, seconds]) {
  const s = await session(model, +threads);
  const n = +batch, size = n * c * h * w;
  const x = new Float32Array(size);
  for (let i = 0; i < size; i++) x[i] = Math.sin(i) * 0.5;
  const feeds = { [s.inputNames[0]]: new ort.Tensor('float32', x, [n, +c, +h, +w]) };
  for (let i = 0; i < 5; i++) await s.run(feeds); // warm up
  let best = 0;
  for (let trial = 0; trial < 3; trial++) {
    let runs = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    while (elapsed < +seconds / 3) {
      await s.run(feeds);
      runs++;
      elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    }
    best = Math.max(best, runs * n / elapsed);
  }
  console.log(`ort model=${model.split('/').pop()} batch=${n} threads=${threads} infer_ips=${best.toFixed(0)}`);
}

const [command, ...args] = process.argv.slice(2);
(command === 'bench' ? bench(args) : run(args)).catch((e) => {
  console.error(`ort.js: ${e.message}`);
  process.exit(1);
});
