#!/usr/bin/env bash
# Local, scripted trusted setup for circuits/eligibility.circom (docs/zk.md).
#
#   tools/zk/ceremony.sh          (or: make zk-setup)
#
# Phase 1: powers of tau 2^13 (new, one contribution with fresh entropy, a beacon), prepared
# for phase 2; cached in .medchain/zk/ (git-ignored, ~10 min on 2 cores), reused when present.
# Phase 2: Groth16 setup of the compiled circuit, one contribution, a beacon, verified.
# Writes the artifacts the SDK and tests use (the committed ones):
#   src/medchain/zk/artifacts/{eligibility.wasm, eligibility.zkey, verification_key.json, SHA256SUMS}
#   contracts/zk/Groth16Verifier.sol
# This is a ONE-PARTY ceremony: whoever runs it knows the toxic waste and could forge proofs.
# It exists so a clone reproduces working keys offline; production needs a multi-party one.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
BIN="$ROOT/node_modules/.bin"
WORK="$ROOT/.medchain/zk"
OUT="$ROOT/src/medchain/zk/artifacts"
POWER=13
PTAU="$WORK/pot${POWER}_final.ptau"
BEACON=0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
mkdir -p "$WORK/build" "$OUT"
entropy() { head -c 64 /dev/urandom | base64 -w0; }
stamp() { date +%s; }

t0=$(stamp)
if [[ ! -f "$PTAU" ]]; then
  echo "phase 1: powers of tau 2^$POWER"
  "$BIN/snarkjs" powersoftau new bn128 "$POWER" "$WORK/pot_0000.ptau"
  "$BIN/snarkjs" powersoftau contribute "$WORK/pot_0000.ptau" "$WORK/pot_0001.ptau" \
    --name="medchain local contribution" -e="$(entropy)"
  "$BIN/snarkjs" powersoftau beacon "$WORK/pot_0001.ptau" "$WORK/pot_beacon.ptau" "$BEACON" 10 -n="medchain beacon"
  "$BIN/snarkjs" powersoftau prepare phase2 "$WORK/pot_beacon.ptau" "$PTAU"
  rm -f "$WORK/pot_0000.ptau" "$WORK/pot_0001.ptau" "$WORK/pot_beacon.ptau"
  echo "{\"seconds\": $(( $(stamp) - t0 ))}" > "$WORK/phase1.json"
else
  echo "phase 1: reusing $PTAU"
fi
t1=$(stamp)

echo "compile circuits/eligibility.circom"
"$BIN/circom2" circuits/eligibility.circom --O2 --r1cs --wasm --sym -l node_modules -o "$WORK/build"
CONSTRAINTS=$("$BIN/snarkjs" r1cs info "$WORK/build/eligibility.r1cs" | tee /dev/stderr \
  | sed -n 's/.*# of Constraints: *\([0-9]*\).*/\1/p')

echo "phase 2: Groth16 setup, contribution, beacon"
"$BIN/snarkjs" groth16 setup "$WORK/build/eligibility.r1cs" "$PTAU" "$WORK/eligibility_0000.zkey"
"$BIN/snarkjs" zkey contribute "$WORK/eligibility_0000.zkey" "$WORK/eligibility_0001.zkey" \
  --name="medchain local phase 2" -e="$(entropy)"
"$BIN/snarkjs" zkey beacon "$WORK/eligibility_0001.zkey" "$OUT/eligibility.zkey" "$BEACON" 10 -n="medchain phase 2 beacon"
"$BIN/snarkjs" zkey verify "$WORK/build/eligibility.r1cs" "$PTAU" "$OUT/eligibility.zkey"
rm -f "$WORK/eligibility_0000.zkey" "$WORK/eligibility_0001.zkey"
"$BIN/snarkjs" zkey export verificationkey "$OUT/eligibility.zkey" "$OUT/verification_key.json"
"$BIN/snarkjs" zkey export solidityverifier "$OUT/eligibility.zkey" contracts/zk/Groth16Verifier.sol
python3 tools/zk/mark_verifier.py contracts/zk/Groth16Verifier.sol
cp "$WORK/build/eligibility_js/eligibility.wasm" "$OUT/eligibility.wasm"
t2=$(stamp)

(cd "$OUT" && sha256sum eligibility.wasm eligibility.zkey verification_key.json > SHA256SUMS \
  && sha256sum ../../../../contracts/zk/Groth16Verifier.sol | sed 's#../../../../##' >> SHA256SUMS)
PHASE1=$(cat "$WORK/phase1.json" 2>/dev/null || echo '{"seconds": null}')
NPUBLIC=$(node -p "require('$OUT/verification_key.json').nPublic")
cat > "$OUT/ceremony.json" <<JSON
{"power": $POWER, "constraints": $CONSTRAINTS, "public_signals": $NPUBLIC, "parties": 1,
 "phase1": $PHASE1, "phase2_seconds": $((t2 - t1)),
 "snarkjs": "$(node -p "require('$ROOT/node_modules/snarkjs/package.json').version")",
 "circom2": "$(node -p "require('$ROOT/node_modules/circom2/package.json').version")",
 "note": "one-party local ceremony (tools/zk/ceremony.sh); production needs a multi-party one"}
JSON
echo "ceremony done: phase 1 $((t1 - t0)) s, phase 2 $((t2 - t1)) s"
cat "$OUT/SHA256SUMS"
