// medchain zk prover: reads {"input": {...}, "wasm": path, "zkey": path} as JSON on stdin,
// writes {"proof", "publicSignals", "seconds"} as JSON on stdout (snarkjs groth16.fullProve).
// A witness that violates a constraint (wrong attribute) exits 2 with one line on stderr.
const snarkjs = require("snarkjs");

async function main() {
  let raw = "";
  for await (const chunk of process.stdin) raw += chunk;
  const req = JSON.parse(raw);
  const t0 = process.hrtime.bigint();
  let out;
  try {
    out = await snarkjs.groth16.fullProve(req.input, req.wasm, req.zkey);
  } catch (err) {
    const msg = String((err && err.message) || err).split("\n")[0];
    process.stderr.write(`witness: ${msg}\n`);
    process.exit(2);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(JSON.stringify({ proof: out.proof, publicSignals: out.publicSignals, seconds }));
  process.exit(0);
}
main().catch((err) => {
  process.stderr.write(`prover: ${String((err && err.message) || err).split("\n")[0]}\n`);
  process.exit(1);
});
