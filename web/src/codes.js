// Encodings shared with the Python SDK (src/medchain/consent/codes.py, notes.py):
// the order of PURPOSES is part of the on-chain encoding (bit i = PURPOSES[i]).
import { concat, getBytes, hexlify, keccak256, randomBytes, toUtf8Bytes, toUtf8String } from "ethers";

export const ACTIONS = { read: 1, write: 2, share: 4 };
export const PURPOSES = [
  "TREAT", "ETREAT", "HPAYMT", "HOPERAT", "HRESCH", "PUBHLTH", "HMARKT", "PATRQT", "FAMRQT",
  "PWATRNY", "CAREMGT", "COC", "CLINTRCH", "HDIRECT", "HLEGAL", "HQUALIMP", "HSYSADMIN",
  "HTEST", "DISASTER",
];
export const PURPOSE_TITLES = {
  TREAT: "treatment", ETREAT: "emergency treatment", HPAYMT: "payment", HOPERAT: "operations",
  HRESCH: "research", PUBHLTH: "public health", HMARKT: "marketing", PATRQT: "patient requested",
  FAMRQT: "family requested", PWATRNY: "power of attorney", CAREMGT: "care management",
  COC: "coordination of care", CLINTRCH: "clinical trial research", HDIRECT: "directory",
  HLEGAL: "legal", HQUALIMP: "quality improvement", HSYSADMIN: "system administration",
  HTEST: "test data", DISASTER: "disaster relief",
};
export const SCOPES = [
  "*", "Observation", "category:laboratory", "DiagnosticReport", "Condition",
  "MedicationRequest", "Immunization", "AllergyIntolerance", "ImagingStudy", "DocumentReference",
];
export const OPEN_END = 2n ** 40n - 1n; // end = 2^40-1: open-ended
export const EPISODE_STATUS = ["None", "Pending", "Active", "Accepted", "Flagged", "Cancelled"];

/** bytes32 scope id of a label: <= 32 printable ASCII characters left-aligned and
 * zero-padded (as medchain.records codes record types), longer labels keccak256. */
export function scopeId(label) {
  if (/^0x[0-9a-fA-F]{64}$/.test(label)) return label.toLowerCase();
  if (!label) throw new Error("scope label is empty (use '*' for every scope)");
  const raw = toUtf8Bytes(label);
  if (raw.length <= 32 && /^[\x20-\x7e]+$/.test(label)) {
    const out = new Uint8Array(32);
    out.set(raw);
    return hexlify(out);
  }
  return keccak256(raw);
}

/** The label of a bytes32 scope (its ASCII text), else the short hex id. */
export function scopeLabel(id) {
  const bytes = getBytes(id);
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  const head = bytes.slice(0, end);
  if (end > 0 && head.every((b) => b >= 0x20 && b <= 0x7e)) return toUtf8String(head);
  return `${id.slice(0, 10)}…`;
}

export const actionsMask = (names) => names.reduce((m, n) => m | ACTIONS[n], 0);
export const actionNames = (mask) =>
  Object.entries(ACTIONS).filter(([, bit]) => Number(mask) & bit).map(([n]) => n);
export const purposesMask = (names) => names.reduce((m, n) => m | (1 << PURPOSES.indexOf(n)), 0) >>> 0;
export const purposeNames = (mask) => PURPOSES.filter((_, i) => (Number(mask) >>> i) & 1);

/** Salted commitment keccak256(salt32 || utf8(text)), as medchain.consent.Commitment:
 * the JSON note (text, salt, commitment) is what NoteStore keeps and verify_note opens. */
export function commitment(text, salt = randomBytes(32)) {
  if (!text || !text.trim()) throw new Error("the text to commit to is empty");
  const s = getBytes(salt);
  if (s.length !== 32) throw new Error("a commitment salt must be 32 bytes");
  return { text, salt: hexlify(s), commitment: keccak256(concat([s, toUtf8Bytes(text)])) };
}

/** A did:ethr of chain `chainId` or a bare address -> address (another chain's DID refused). */
export function didAddress(text, chainId) {
  const t = text.trim();
  const m = /^did:ethr:(?:([^:]+):)?(0x[0-9a-fA-F]{40})$/.exec(t);
  if (!m) {
    if (/^0x[0-9a-fA-F]{40}$/.test(t)) return t;
    throw new Error(`not an address or did:ethr: ${t || "(empty)"}`);
  }
  const net = m[1] ?? "mainnet";
  const named = { mainnet: 1n, sepolia: 11155111n };
  const id = net.startsWith("0x") ? BigInt(net) : named[net];
  if (id !== BigInt(chainId))
    throw new Error(`${t} names chain ${id ?? net}; the connected chain is ${chainId}`);
  return m[2];
}

export const didOf = (address, chainId) => `did:ethr:0x${BigInt(chainId).toString(16)}:${address}`;
