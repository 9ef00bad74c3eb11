// Everything the portal knows about the chain comes from the address book
// (deployments/<book>/index.json + <Contract>.json) fetched at run time: addresses, ABIs,
// the deploy block (where event scans start). Nothing here is hard-coded per deployment.
import {
  BrowserProvider, Contract, HDNodeWallet, Interface, JsonRpcProvider, Mnemonic, Wallet,
  ZeroAddress, id as keccakId,
} from "ethers";
import { scopeLabel } from "./codes.js";

export const BOOK_URL = new URL("deployments/", document.baseURI);
// anvil's (and ape's) test mnemonic; role i is HD index i, as medchain.demos.ROLES.
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";
export const DEV_ROLES = [
  "deployer", "patient", "provider", "researcher", "lab", "manufacturer", "wholesaler",
  "pharmacy", "sponsor", "investigator", "investigator2", "monitor", "ethics", "approver1",
  "approver2", "approver3", "privacy_officer", "guardian", "ethics2", "ethics3",
];

export async function loadBook() {
  const get = async (name) => {
    const res = await fetch(new URL(name, BOOK_URL));
    if (!res.ok) throw new Error(`address book: ${name} not found (${res.status}) at ${BOOK_URL}`);
    return res.json();
  };
  const index = await get("index.json");
  const contracts = {};
  for (const [name, entry] of Object.entries(index.contracts)) {
    if (!["DIDRegistry", "RecordRegistry", "ConsentRegistry"].includes(name)) continue;
    contracts[name] = { ...(await get(entry.file)), block_number: entry.block_number };
  }
  for (const need of ["DIDRegistry", "RecordRegistry", "ConsentRegistry"])
    if (!contracts[need]) throw new Error(`address book ${index.book} has no ${need}`);
  return { name: index.book, contracts };
}

/** Dev-key accounts derived from the test mnemonic in the browser (index -> wallet). */
export function devAccounts(count = DEV_ROLES.length) {
  const root = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(DEV_MNEMONIC), "m/44'/60'/0'/0");
  return Array.from({ length: count }, (_, i) => {
    const w = root.deriveChild(i);
    return { index: i, role: DEV_ROLES[i] ?? `account ${i}`, address: w.address, privateKey: w.privateKey };
  });
}

/** The connection: a reading provider, a signer (dev key or injected wallet), contracts. */
export class Chain {
  constructor(book, provider, signer, mode) {
    this.book = book;
    this.provider = provider;
    this.signer = signer;
    this.mode = mode; // "dev-key" | "injected"
    this.c = {};
    for (const [name, d] of Object.entries(book.contracts))
      this.c[name] = new Contract(d.address, d.abi, signer ?? provider);
    this.iface = new Interface(Object.values(book.contracts).flatMap((d) => d.abi)
      .filter((f, i, all) => f.type !== "error" || all.findIndex((g) => g.type === "error" && g.name === f.name) === i));
    this.blockTimes = new Map();
  }

  static rpcUrl() {
    return new URLSearchParams(location.search).get("rpc") || new URL("rpc", document.baseURI).href;
  }

  static async devKey(book, privateKey) {
    const provider = new JsonRpcProvider(Chain.rpcUrl(), undefined, { staticNetwork: true, pollingInterval: 250 });
    return new Chain(book, provider, new Wallet(privateKey, provider), "dev-key");
  }

  static async injected(book) {
    if (!window.ethereum) throw new Error("no injected wallet (EIP-1193 window.ethereum) in this browser");
    const provider = new BrowserProvider(window.ethereum);
    await provider.send("eth_requestAccounts", []);
    return new Chain(book, provider, await provider.getSigner(), "injected");
  }

  withSigner(signer) { return new Chain(this.book, this.provider, signer, this.mode); }
  async address() { return this.signer.getAddress(); }
  async chainId() { return (await this.provider.getNetwork()).chainId; }
  from(name) { return this.book.contracts[name].block_number ?? 0; }

  async blockTime(n) {
    if (!this.blockTimes.has(n)) this.blockTimes.set(n, (await this.provider.getBlock(n)).timestamp);
    return this.blockTimes.get(n);
  }

  async logs(name, event, ...topics) {
    const c = this.c[name];
    return c.queryFilter(c.filters[event](...topics), this.from(name));
  }

  /** EIP-712 domain of a contract through ERC-5267 eip712Domain(). */
  async domain(name) {
    const d = await this.c[name].eip712Domain();
    return { name: d.name, version: d.version, chainId: d.chainId, verifyingContract: d.verifyingContract };
  }

  /** Role constants of ConsentRegistry by hash, to name the role a refusal needs. */
  roleName(hash) {
    for (const r of ["CLINICIAN_ROLE", "EMERGENCY_APPROVER_ROLE", "PRIVACY_OFFICER_ROLE"])
      if (keccakId(r) === hash) return r;
    return hash === "0x" + "0".repeat(64) ? "DEFAULT_ADMIN_ROLE" : hash;
  }

  /** A refusal as a sentence: the custom error decoded with the book's ABIs. */
  explain(err) {
    const data = revertData(err);
    if (data && data !== "0x") {
      let parsed = null;
      try { parsed = this.iface.parseError(data); } catch { /* unknown selector */ }
      if (parsed) return { name: parsed.name, text: sentence(parsed, this) };
      return { name: "unknown", text: `The contract refused with unknown error data ${data.slice(0, 10)}.` };
    }
    if (err?.code === "ACTION_REJECTED") return { name: "rejected", text: "You rejected the request in your wallet." };
    if (err?.code === "INSUFFICIENT_FUNDS") return { name: "funds", text: "The sending account has no ETH to pay for gas." };
    const msg = err?.shortMessage || err?.message || String(err);
    return { name: "error", text: msg.length > 300 ? msg.slice(0, 300) + "…" : msg };
  }
}

function revertData(err) {
  for (let e = err, depth = 0; e && depth < 6; depth++) {
    for (const cand of [e.data, e.info?.error?.data, e.error?.data])
      if (typeof cand === "string" && cand.startsWith("0x")) return cand;
      else if (cand && typeof cand.data === "string") return cand.data;
    e = e.error ?? e.info?.error ?? e.cause;
  }
  return null;
}

const short = (a) => (typeof a === "string" && a.startsWith("0x") && a.length === 42 ? `${a.slice(0, 6)}…${a.slice(-4)}` : String(a));
const time = (t) => new Date(Number(t) * 1000).toISOString().replace(".000Z", "Z");

function sentence(e, chain) {
  const a = e.args;
  const templates = {
    ConsentUnauthorizedManager: () => `You cannot manage this patient's consent: ${short(a.caller)} is neither the DID owner (${short(a.owner)}) nor a consent delegate of ${short(a.patient)}.`,
    ConsentIdentityDeactivated: () => `The patient's DID ${short(a.patient)} is deactivated: nobody can manage its consent any more.`,
    ConsentDenyOwnerOnly: () => `Only the patient's DID owner can lift or replace this deny on ${scopeLabel(a.scope)}.`,
    ConsentDelegateSelfGrant: () => `A consent delegate cannot grant itself access to the patient's record.`,
    ConsentInvalidNonce: () => `This signature is stale: the provision changed since it was signed (expected sequence ${a.expected}, signed ${a.given}). Sign again.`,
    ConsentSignaturesExhausted: () => `This grant has used up its signatures: change it directly from the patient's wallet.`,
    ConsentInvalidProvision: () => `The consent is malformed: choose at least one action and one purpose, and a period whose end is after its start and in the future (start ${a.start}, end ${a.end}).`,
    ConsentNotFound: () => `There is no ${a.deny ? "deny" : "permit"} for ${short(a.grantee)} on ${scopeLabel(a.scope)} to remove.`,
    ConsentAccessDenied: () => `Access refused: ${short(a.grantee)} has no consent to ${a.action} on ${scopeLabel(a.scope)} for this purpose.`,
    ConsentExpiredSignature: () => `The signature expired at ${time(a.deadline)} (chain time ${time(a.now_)}). Sign again.`,
    ConsentInvalidSignature: () => `The signature does not verify for ${short(a.signer)}.`,
    ConsentBreakGlassInvalidDuration: () => `Emergency access must last more than 0 seconds and at most ${Number(a.max) / 3600} hours (asked ${a.requested} s).`,
    ConsentBreakGlassUnknownEpisode: () => `There is no break-glass episode ${a.episodeId}.`,
    ConsentBreakGlassWrongStatus: () => `Episode ${a.episodeId} is ${EPISODE[Number(a.status)]}: that step is not possible now.`,
    ConsentBreakGlassRequestExpired: () => `Episode ${a.episodeId} was not approved in time.`,
    ConsentBreakGlassAlreadyApproved: () => `${short(a.approver)} already approved episode ${a.episodeId}.`,
    ConsentBreakGlassSelfApproval: () => `A clinician cannot approve their own emergency request.`,
    ConsentBreakGlassCannotStop: () => `Only the requesting clinician, a privacy officer or the admin can stop episode ${a.episodeId}.`,
    ConsentBreakGlassClinicianRevoked: () => `The requesting clinician no longer holds the clinician role.`,
    ConsentBreakGlassStillActive: () => `Episode ${a.episodeId} is still active until ${time(a.expiresAt)}; review comes after.`,
    AccessControlUnauthorizedAccount: () => `Refused: account ${short(a.account)} does not hold ${chain.roleName(a.neededRole)}, which this action needs.`,
    RecordUnauthorizedWriter: () => `${short(a.writer)} may not write ${scopeLabel(a.scope)} records for this patient.`,
  };
  const t = templates[e.name];
  if (t) return `${t()} (${e.name})`;
  const args = e.fragment.inputs.map((p, i) => `${p.name}=${short(a[i])}`).join(", ");
  return `The contract refused: ${e.name}(${args}).`;
}
const EPISODE = ["None", "Pending", "Active", "Accepted", "Flagged", "Cancelled"];

export { ZeroAddress };
