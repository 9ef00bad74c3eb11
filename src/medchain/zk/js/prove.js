// medchain zk prover (snarkjs groth16.fullProve on Node).
// One-shot: reads {"input", "wasm", "zkey"} as JSON on stdin, writes {"proof", "publicSignals",
// "seconds"} on stdout; a witness that violates a constraint exits 2 with one line on stderr.
// --serve: one request per stdin line, one JSON reply per stdout line ({"error", "witness"} on a
// refusal), until stdin closes; the curve and the circuit stay loaded between proofs.
const readline = require("readline");
const snarkjs = require("snarkjs");

function firstLine(err) {
  return String((err && err.message) || err).split("\n")[0];
}

async function proveOne(req) {
  const t0 = process.hrtime.bigint();
  try {
    const out = await snarkjs.groth16.fullProve(req.input, req.wasm, req.zkey);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { proof: out.proof, publicSignals: out.publicSignals, seconds };
  } catch (err) {
    return { error: firstLine(err), witness: true };
  }
}

async function serve() {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let reply;
    try {
      reply = await proveOne(JSON.parse(line));
    } catch (err) {
      reply = { error: firstLine(err), witness: false };
    }
    process.stdout.write(JSON.stringify(reply) + "\n");
  }
  process.exit(0);
}

async function once() {
  let raw = "";
  for await (const chunk of process.stdin) raw += chunk;
  const reply = await proveOne(JSON.parse(raw));
  if (reply.error) {
    process.stderr.write(`witness: ${reply.error}\n`);
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(reply));
  process.exit(0);
}

(process.argv.includes("--serve") ? serve() : once()).catch((err) => {
  process.stderr.write(`prover: ${firstLine(err)}\n`);
  process.exit(1);
});
