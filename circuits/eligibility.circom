pragma circom 2.1.0;

// medchain zero-knowledge eligibility (docs/zk.md).
//
// A holder proves, without revealing the credential or who they are, that
//   1. a credential leaf Poseidon(Poseidon(secret), credType, date, birthDate, codes[4])
//      is in the issuer's Merkle tree whose root is `root` (depth DEPTH, Poseidon(2) nodes),
//   2. the credential satisfies the criteria whose Poseidon hash is `criteriaHash`:
//      credType matches; dateMin <= date <= dateMax; age on `today` in [minAge, maxAge]
//      (dates are YYYYMMDD integers, so "18 on or after the 18th birthday" is
//      birthDate + 180000 <= today); at least one code in anyOf (when anyOf[0] != 0);
//      no code in noneOf (zero entries are padding),
//   3. nullifier = Poseidon(secret, scope): one per holder per scope, unlinkable across scopes.
// Public signals, in this order: root, nullifier, scopeAndDay = scope * 2^32 + today (scope < 2^216,
// so the split is unique; one public signal fewer saves ~6,000 gas per verification), criteriaHash.

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/bitify.circom";

template Eligibility(DEPTH, NCODES, NSET) {
    // ---- public ----
    signal input root;
    signal input nullifier;
    signal input scopeAndDay;
    signal input criteriaHash;

    // ---- private: the two halves of scopeAndDay ----
    signal input scope;
    signal input today;

    // ---- private: holder and credential ----
    signal input secret;
    signal input credType;
    signal input date;
    signal input birthDate;
    signal input codes[NCODES];
    signal input leafIndex;
    signal input siblings[DEPTH];

    // ---- private: the criteria's parameters (bound by criteriaHash) ----
    signal input dateMin;
    signal input dateMax;
    signal input minAge;
    signal input maxAge;
    signal input anyOf[NSET];
    signal input noneOf[NSET];

    // 1. the credential is a leaf under root
    component holder = Poseidon(1);
    holder.inputs[0] <== secret;

    component leaf = Poseidon(4 + NCODES);
    leaf.inputs[0] <== holder.out;
    leaf.inputs[1] <== credType;
    leaf.inputs[2] <== date;
    leaf.inputs[3] <== birthDate;
    for (var j = 0; j < NCODES; j++) {
        leaf.inputs[4 + j] <== codes[j];
    }

    component bits = Num2Bits(DEPTH);
    bits.in <== leafIndex;
    component node[DEPTH];
    signal left[DEPTH];
    signal cur[DEPTH + 1];
    cur[0] <== leaf.out;
    for (var i = 0; i < DEPTH; i++) {
        // bit 0: cur is the left child; bit 1: cur is the right child
        left[i] <== cur[i] + bits.out[i] * (siblings[i] - cur[i]);
        node[i] = Poseidon(2);
        node[i].inputs[0] <== left[i];
        node[i].inputs[1] <== cur[i] + siblings[i] - left[i];
        cur[i + 1] <== node[i].out;
    }
    root === cur[DEPTH];

    // 2. the criteria: their hash, then each predicate
    component anyHash = Poseidon(NSET);
    component noneHash = Poseidon(NSET);
    for (var i = 0; i < NSET; i++) {
        anyHash.inputs[i] <== anyOf[i];
        noneHash.inputs[i] <== noneOf[i];
    }
    component crit = Poseidon(7);
    crit.inputs[0] <== credType;
    crit.inputs[1] <== dateMin;
    crit.inputs[2] <== dateMax;
    crit.inputs[3] <== minAge;
    crit.inputs[4] <== maxAge;
    crit.inputs[5] <== anyHash.out;
    crit.inputs[6] <== noneHash.out;
    criteriaHash === crit.out;

    // every compared value is range-checked, so the 32-bit comparators are sound
    component r27[5];
    var ranged[5] = [date, birthDate, today, dateMin, dateMax];
    for (var k = 0; k < 5; k++) {
        r27[k] = Num2Bits(27);
        r27[k].in <== ranged[k];
    }
    component r8a = Num2Bits(8);
    r8a.in <== minAge;
    component r8b = Num2Bits(8);
    r8b.in <== maxAge;

    component afterMin = LessEqThan(32);
    afterMin.in[0] <== dateMin;
    afterMin.in[1] <== date;
    afterMin.out === 1;
    component beforeMax = LessEqThan(32);
    beforeMax.in[0] <== date;
    beforeMax.in[1] <== dateMax;
    beforeMax.out === 1;
    component oldEnough = LessEqThan(32);
    oldEnough.in[0] <== birthDate + minAge * 10000;
    oldEnough.in[1] <== today;
    oldEnough.out === 1;
    component youngEnough = LessThan(32);
    youngEnough.in[0] <== today;
    youngEnough.in[1] <== birthDate + (maxAge + 1) * 10000;
    youngEnough.out === 1;

    // at least one code in anyOf (when used; a used set has no zero entry)
    component anyUnused = IsZero();
    anyUnused.in <== anyOf[0];
    component anyZero[NSET];
    for (var i = 0; i < NSET; i++) {
        anyZero[i] = IsZero();
        anyZero[i].in <== anyOf[i];
        (1 - anyUnused.out) * anyZero[i].out === 0;
    }
    signal prod[NCODES * NSET + 1];
    prod[0] <== 1 - anyUnused.out;
    for (var j = 0; j < NCODES; j++) {
        for (var i = 0; i < NSET; i++) {
            prod[j * NSET + i + 1] <== prod[j * NSET + i] * (codes[j] - anyOf[i]);
        }
    }
    prod[NCODES * NSET] === 0;

    // no code in noneOf (zero entries are padding)
    component noneZero[NSET];
    component hit[NCODES][NSET];
    for (var i = 0; i < NSET; i++) {
        noneZero[i] = IsZero();
        noneZero[i].in <== noneOf[i];
        for (var j = 0; j < NCODES; j++) {
            hit[j][i] = IsEqual();
            hit[j][i].in[0] <== codes[j];
            hit[j][i].in[1] <== noneOf[i];
            hit[j][i].out * (1 - noneZero[i].out) === 0;
        }
    }

    // 3. the scope's nullifier (today < 2^27 is checked above)
    component scopeBits = Num2Bits(216);
    scopeBits.in <== scope;
    scopeAndDay === scope * 4294967296 + today;
    component nul = Poseidon(2);
    nul.inputs[0] <== secret;
    nul.inputs[1] <== scope;
    nullifier === nul.out;
}

component main {public [root, nullifier, scopeAndDay, criteriaHash]} = Eligibility(16, 4, 4);
