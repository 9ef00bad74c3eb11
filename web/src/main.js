import "./style.css";
import { Wallet, encodeBase64, getBytes, hexlify, toUtf8String } from "ethers";
import {
  ACTIONS, EPISODE_STATUS, OPEN_END, PURPOSES, PURPOSE_TITLES, SCOPES, actionNames, actionsMask,
  commitment, didAddress, didOf, purposeNames, purposesMask, scopeId, scopeLabel,
} from "./codes.js";
import { Chain, devAccounts, loadBook } from "./chain.js";

// ---------------------------------------------------------------- tiny DOM helpers
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "testid") el.dataset.testid = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false)
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}
const $ = (sel) => document.querySelector(sel);
const short = (a) => (a ? `${a.slice(0, 6)}…${a.slice(-4)}` : "");
const iso = (t) => new Date(Number(t) * 1000).toISOString().slice(0, 16).replace("T", " ");
const isoDay = (t) => (BigInt(t) >= OPEN_END ? "open-ended" : iso(t));
const table = (testid, head, rows, empty) =>
  rows.length
    ? h("div", { class: "scroll" }, h("table", { testid },
        h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, c)))),
        h("tbody", {}, rows)))
    : h("p", { class: "muted", testid: `${testid}-empty` }, empty);

// ---------------------------------------------------------------- state
const state = { book: null, chain: null, me: null, chainId: null, relayer: null, accounts: devAccounts(), txs: [] };
const PAGES = { identity: "My identity", records: "My records", consent: "My consent", audit: "Audit trail", provider: "Provider" };

// ---------------------------------------------------------------- transactions
function txPanel() {
  const list = $("#txs");
  list.replaceChildren(...state.txs.slice(-6).reverse().map((t) =>
    h("li", { class: `tx ${t.status}`, testid: "tx" },
      h("span", { class: "badge" }, t.status), ` ${t.label} `,
      t.hash ? h("code", { title: t.hash }, short(t.hash)) : "",
      t.block ? ` in block ${t.block}` : "",
      t.error ? h("div", { class: "err" }, t.error) : "")));
}

/** Send a transaction, showing it as pending until mined; a refusal becomes a sentence. */
async function send(label, chain, fn) {
  const t = { label, status: "signing" };
  state.txs.push(t); txPanel();
  try {
    const tx = await fn(chain);
    t.status = "pending"; t.hash = tx.hash; txPanel();
    const receipt = await tx.wait();
    t.status = receipt.status === 1 ? "confirmed" : "failed"; t.block = receipt.blockNumber; txPanel();
    return receipt;
  } catch (err) {
    const why = state.chain.explain(err);
    t.status = "refused"; t.error = why.text; txPanel();
    showError(why.text);
    throw Object.assign(new Error(why.text), { handled: true });
  }
}

function showError(text) {
  const box = $("#error");
  box.replaceChildren(h("strong", {}, "Refused: "), text, " ",
    h("button", { class: "link", onclick: () => { box.hidden = true; } }, "dismiss"));
  box.hidden = false;
}
function clearError() { $("#error").hidden = true; }

/** Who submits a signed message: my own wallet, or (dev mode) a relayer account. */
async function submitter() {
  if (!state.relayer) return state.chain;
  return state.chain.withSigner(new Wallet(state.relayer.privateKey, state.chain.provider));
}

// ---------------------------------------------------------------- wallet bar
function walletBar() {
  const pick = h("select", { id: "dev-account", testid: "dev-account" },
    state.accounts.map((a) => h("option", { value: a.privateKey, selected: a.index === 1 }, `${a.index} ${a.role} ${short(a.address)}`)));
  const typed = h("input", { id: "dev-key", placeholder: "or paste a private key (0x…)", autocomplete: "off", size: 30 });
  return h("div", { class: "wallet" },
    h("div", { class: "dev-warning", testid: "dev-warning", hidden: true, id: "dev-warning" },
      "DEV KEY MODE — private keys of anvil's public test mnemonic, in this page. Never use on a real network."),
    h("div", { class: "row" },
      h("label", {}, "Dev key (anvil) ", pick), typed,
      h("button", { testid: "use-dev-key", onclick: () => connectDev(typed.value.trim() || pick.value) }, "Use dev key"),
      h("button", { testid: "connect-injected", onclick: connectInjected }, "Connect wallet"),
      h("span", { id: "who", testid: "who" }, "not connected")));
}

async function connectDev(key) {
  clearError();
  try {
    state.chain = await Chain.devKey(state.book, key);
    await afterConnect();
  } catch (err) { showError(err.message); }
}
async function connectInjected() {
  clearError();
  try {
    state.chain = await Chain.injected(state.book);
    window.ethereum.on?.("accountsChanged", () => connectInjected());
    await afterConnect();
  } catch (err) { showError(state.chain ? state.chain.explain(err).text : err.message); }
}
async function afterConnect() {
  state.me = await state.chain.address();
  state.chainId = await state.chain.chainId();
  const dev = state.chain.mode === "dev-key";
  $("#dev-warning").hidden = !dev;
  const role = state.accounts.find((a) => a.address === state.me)?.role;
  $("#who").replaceChildren(h("span", { class: "badge" }, dev ? "DEV" : "wallet"), " ",
    h("code", { testid: "me" }, state.me), role && dev ? ` (${role})` : "", ` chain ${state.chainId}`);
  await render();
}

// ---------------------------------------------------------------- pages
async function render() {
  const page = (location.hash.slice(1) || "consent");
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("on", a.getAttribute("href") === `#${page}`));
  const main = $("#page");
  if (!state.chain) { main.replaceChildren(h("p", { class: "muted" }, "Choose a wallet above.")); return; }
  main.replaceChildren(h("p", { class: "muted" }, "loading…"));
  try {
    const view = await ({ identity: identityPage, records: recordsPage, consent: consentPage, audit: auditPage, provider: providerPage }[page] ?? consentPage)();
    main.replaceChildren(h("section", { testid: `page-${page}` }, view));
  } catch (err) {
    main.replaceChildren(h("p", { class: "err" }, state.chain.explain(err).text));
  }
}

async function identityPage() {
  const { DIDRegistry } = state.chain.c;
  const owner = await DIDRegistry.identityOwner(state.me);
  const attrs = await state.chain.logs("DIDRegistry", "DIDAttributeChanged", state.me);
  const dels = await state.chain.logs("DIDRegistry", "DIDDelegateChanged", state.me);
  const now = Math.floor(Date.now() / 1000);
  const name32 = (b) => { try { return toUtf8String(getBytes(b)).replace(/\0+$/, ""); } catch { return b; } };
  const val = (name, v) => (name.endsWith("/base64") ? encodeBase64(v) : name.endsWith("/hex") ? hexlify(v) : (() => { try { return toUtf8String(v); } catch { return hexlify(v); } })());
  const keyRows = attrs.map((e) => {
    const name = name32(e.args.name);
    const live = Number(e.args.validTo) > now;
    return h("tr", {}, h("td", {}, name), h("td", { class: "wrap" }, h("code", {}, val(name, e.args.value))),
      h("td", {}, live ? `until ${iso(e.args.validTo)}` : "revoked / expired"), h("td", {}, `block ${e.blockNumber}`));
  });
  const delRows = dels.map((e) => h("tr", {}, h("td", {}, name32(e.args.delegateType)), h("td", {}, h("code", {}, e.args.delegate)),
    h("td", {}, Number(e.args.validTo) > now ? `until ${iso(e.args.validTo)}` : "revoked / expired")));
  return [
    h("h2", {}, "My identity"),
    h("dl", {}, h("dt", {}, "DID"), h("dd", {}, h("code", { testid: "did" }, didOf(state.me, state.chainId))),
      h("dt", {}, "Owner key"), h("dd", {}, h("code", {}, owner), owner === "0x0000000000000000000000000000000000000000" ? " (deactivated)" : "")),
    h("h3", {}, "Published keys and services"),
    table("did-keys", ["attribute", "value", "validity", "set"], keyRows, "No keys published (medchain did add-key)."),
    h("h3", {}, "Delegates"),
    table("did-delegates", ["type", "delegate", "validity"], delRows, "No delegates."),
  ];
}

async function recordsPage() {
  const anchored = await state.chain.logs("RecordRegistry", "RecordAnchored", null, state.me);
  const erased = new Set((await state.chain.logs("RecordRegistry", "RecordErased", null, state.me)).map((e) => e.args.recordId));
  const rpc = Chain.rpcUrl();
  const rows = [];
  for (const e of anchored) {
    const id = e.args.recordId;
    const cmd = `medchain record get ${id} --network ${rpc} --account patient`;
    rows.push(h("tr", { testid: "record-row" },
      h("td", {}, scopeLabel(e.args.scope)), h("td", {}, iso(await state.chain.blockTime(e.blockNumber))),
      h("td", {}, h("code", { title: e.args.author }, short(e.args.author))), h("td", {}, `v${e.args.version}`),
      h("td", {}, erased.has(id) ? "erased" : h("button", { class: "link", title: cmd, onclick: () => navigator.clipboard?.writeText(cmd) }, "copy CLI command")),
      h("td", { class: "wrap" }, h("code", {}, cmd))));
  }
  return [h("h2", {}, "My records"),
    h("p", { class: "muted" }, "The chain holds only anchors; the encrypted content is read and decrypted with your key by the CLI."),
    table("records", ["type", "date", "author", "version", "", "read it"], rows, "No records anchored for you yet.")];
}

async function provisionsOf(patient) {
  const ch = state.chain;
  const keys = new Map();
  for (const ev of ["ConsentGranted", "ConsentDenied", "ConsentRevoked"])
    for (const e of await ch.logs("ConsentRegistry", ev, patient))
      keys.set(`${e.args.grantee}|${e.args.scope}`, { grantee: e.args.grantee, scope: e.args.scope });
  const head = await ch.provider.getBlock("latest");
  const out = [];
  for (const k of keys.values()) {
    const [permit, deny] = await ch.c.ConsentRegistry.provisionOf(patient, k.grantee, k.scope);
    for (const [p, isDeny] of [[permit, false], [deny, true]]) {
      if (Number(p.actions) === 0) continue;
      const status = head.timestamp < Number(p.start) ? "not yet started" : head.timestamp >= Number(p.end) ? "expired" : "active";
      let access = null;
      if (!isDeny) {
        const action = Number(p.actions) & -Number(p.actions);
        const purpose = purposeNames(p.purposes)[0];
        access = await ch.c.ConsentRegistry.hasAccess(patient, k.grantee, k.scope, action, PURPOSES.indexOf(purpose));
      }
      out.push({ ...k, ...p.toObject(), deny: isDeny, status, access });
    }
  }
  return out;
}

async function consentPage() {
  const rows = (await provisionsOf(state.me)).map((p) =>
    h("tr", { testid: "grant-row", "data-grantee": p.grantee, "data-scope": scopeLabel(p.scope), "data-kind": p.deny ? "deny" : "permit" },
      h("td", {}, h("span", { class: `badge ${p.deny ? "deny" : "permit"}` }, p.deny ? "deny" : "permit")),
      h("td", {}, h("code", { title: p.grantee }, short(p.grantee))), h("td", {}, scopeLabel(p.scope)),
      h("td", {}, actionNames(p.actions).join(", ")), h("td", {}, purposeNames(p.purposes).join(", ")),
      h("td", {}, `${Number(p.start) ? iso(p.start) : "now"} → ${isoDay(p.end)}`),
      h("td", { testid: "grant-status" }, p.status, p.access === null ? "" : p.access ? " · hasAccess ✓" : " · hasAccess ✗"),
      h("td", {}, h("button", { testid: "revoke", onclick: () => revoke(p) }, p.deny ? "Lift deny" : "Revoke"))));
  return [h("h2", {}, "My consent"), grantForm(), h("h3", {}, "Current provisions"),
    table("grants", ["kind", "grantee", "scope", "actions", "purposes", "period", "status", ""], rows, "You have not granted anything yet.")];
}

function grantForm() {
  const f = h("form", { testid: "grant-form", class: "card", onsubmit: (ev) => { ev.preventDefault(); grant(f); } },
    h("h3", {}, "Grant or deny access (EIP-712 signature)"),
    h("label", {}, "Grantee (address or did:ethr) ", h("input", { name: "grantee", required: true, placeholder: "0x… or did:ethr:0x7a69:0x…" })),
    h("label", {}, "Scope ", h("input", { name: "scope", list: "scopes", value: "Observation", required: true }),
      h("datalist", { id: "scopes" }, SCOPES.map((s) => h("option", { value: s })))),
    h("fieldset", {}, h("legend", {}, "Actions"), Object.keys(ACTIONS).map((a) =>
      h("label", { class: "inline" }, h("input", { type: "checkbox", name: "action", value: a, checked: a === "read" }), a))),
    h("fieldset", {}, h("legend", {}, "Purposes"), PURPOSES.slice(0, 8).map((p) =>
      h("label", { class: "inline", title: PURPOSE_TITLES[p] }, h("input", { type: "checkbox", name: "purpose", value: p, checked: p === "TREAT" }), p))),
    h("div", { class: "row" },
      h("label", {}, "From ", h("input", { type: "date", name: "start" })),
      h("label", {}, "Until ", h("input", { type: "date", name: "end" })),
      h("label", {}, "Kind ", h("select", { name: "kind" }, h("option", { value: "permit" }, "permit"), h("option", { value: "deny" }, "deny")))),
    h("label", {}, "Submitted by ", relayerSelect()),
    h("button", { type: "submit", testid: "grant-submit" }, "Sign and submit"));
  return f;
}

function relayerSelect() {
  const sel = h("select", { testid: "relayer", onchange: () => { state.relayer = state.accounts.find((a) => a.privateKey === sel.value) ?? null; } },
    h("option", { value: "" }, "my wallet (I pay the gas)"),
    state.chain.mode === "dev-key" ? state.accounts.filter((a) => a.address !== state.me).map((a) =>
      h("option", { value: a.privateKey, selected: state.relayer?.index === a.index }, `relayer: ${a.index} ${a.role}`)) : []);
  return sel;
}

const toTime = (v, dflt) => (v ? BigInt(Math.floor(Date.parse(`${v}T00:00:00Z`) / 1000)) : dflt);

async function signedProvision(p) {
  const ch = state.chain;
  const domain = await ch.domain("ConsentRegistry"); // ERC-5267
  const nonce = await ch.c.ConsentRegistry.signatureNonce(p.patient, p.grantee, p.scope);
  const deadline = BigInt((await ch.provider.getBlock("latest")).timestamp + 3600);
  const types = {
    SignedProvision: [
      { name: "patient", type: "address" }, { name: "grantee", type: "address" }, { name: "scope", type: "bytes32" },
      { name: "actions", type: "uint8" }, { name: "purposes", type: "uint32" }, { name: "start", type: "uint40" },
      { name: "end", type: "uint40" }, { name: "deny", type: "bool" }, { name: "signer", type: "address" },
      { name: "nonce", type: "uint256" }, { name: "deadline", type: "uint256" }],
  };
  const msg = { ...p, signer: state.me, nonce, deadline };
  const signature = await ch.signer.signTypedData(domain, types, msg);
  return { msg, signature };
}

async function grant(form) {
  clearError();
  const d = new FormData(form);
  let p;
  try {
    p = {
      patient: state.me,
      grantee: didAddress(d.get("grantee"), state.chainId),
      scope: scopeId(d.get("scope").trim()),
      actions: actionsMask(d.getAll("action")),
      purposes: purposesMask(d.getAll("purpose")),
      start: toTime(d.get("start"), 0n),
      end: toTime(d.get("end"), OPEN_END),
      deny: d.get("kind") === "deny",
    };
  } catch (err) { showError(err.message); return; }
  try {
    const { msg, signature } = await signedProvision(p);
    const by = await submitter();
    await send(`${p.deny ? "deny" : "grant"} ${scopeLabel(p.scope)} to ${short(p.grantee)} (signed)`, by,
      (c) => c.c.ConsentRegistry.grantBySig(msg, signature));
  } catch (err) { if (!err.handled) showError(state.chain.explain(err).text); }
  await render();
}

async function revoke(p) {
  clearError();
  const ch = state.chain;
  try {
    const domain = await ch.domain("ConsentRegistry");
    const nonce = await ch.c.ConsentRegistry.signatureNonce(state.me, p.grantee, p.scope);
    const deadline = BigInt((await ch.provider.getBlock("latest")).timestamp + 3600);
    const types = { SignedRevocation: [
      { name: "patient", type: "address" }, { name: "grantee", type: "address" }, { name: "scope", type: "bytes32" },
      { name: "deny", type: "bool" }, { name: "signer", type: "address" }, { name: "nonce", type: "uint256" },
      { name: "deadline", type: "uint256" }] };
    const msg = { patient: state.me, grantee: p.grantee, scope: p.scope, deny: p.deny, signer: state.me, nonce, deadline };
    const signature = await ch.signer.signTypedData(domain, types, msg);
    await send(`${p.deny ? "lift deny" : "revoke"} ${scopeLabel(p.scope)} of ${short(p.grantee)} (signed)`, await submitter(),
      (c) => c.c.ConsentRegistry.revokeBySig(msg, signature));
  } catch (err) { if (!err.handled) showError(ch.explain(err).text); }
  await render();
}

async function auditPage() {
  const ch = state.chain;
  const me = state.me;
  const events = [];
  for (const ev of ["ConsentGranted", "ConsentDenied", "ConsentRevoked", "ConsentManagedBy", "AccessRecorded"])
    events.push(...await ch.logs("ConsentRegistry", ev, me));
  for (const ev of ["BreakGlassRequested", "BreakGlassActivated", "BreakGlassCancelled", "BreakGlassClosed", "BreakGlassReviewed"])
    events.push(...await ch.logs("ConsentRegistry", ev, null, me));
  const episodeIds = [...new Set(events.filter((e) => e.fragment.name === "BreakGlassRequested").map((e) => e.args.episodeId))];
  for (const idn of episodeIds) events.push(...await ch.logs("ConsentRegistry", "BreakGlassApproved", idn));
  events.sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
  const rows = [];
  for (const e of events) {
    const a = e.args;
    const who = a.grantee ?? a.clinician ?? a.approver ?? a.officer ?? a.manager ?? a.by ?? "";
    const detail = {
      ConsentGranted: () => `${scopeLabel(a.scope)}: ${actionNames(a.actions).join("+")} for ${purposeNames(a.purposes).join(", ")} until ${isoDay(a.end)}`,
      ConsentDenied: () => `${scopeLabel(a.scope)}: deny ${actionNames(a.actions).join("+")} for ${purposeNames(a.purposes).join(", ")}`,
      ConsentRevoked: () => `${scopeLabel(a.scope)}${a.deny ? " (deny lifted)" : ""}`,
      ConsentManagedBy: () => "change made by a manager, not your own key",
      AccessRecorded: () => `${actionNames(a.action).join("+")} ${scopeLabel(a.scope)} for ${PURPOSES[Number(a.purpose)]}, record ${a.recordRef.slice(0, 10)}…${a.episodeId > 0n ? `, break-glass episode ${a.episodeId}` : ", by consent"}`,
      BreakGlassRequested: () => `episode ${a.episodeId}, ${Number(a.duration) / 3600} h, reason commitment ${a.reasonHash.slice(0, 10)}…`,
      BreakGlassApproved: () => `episode ${a.episodeId}, approval ${a.approvals}`,
      BreakGlassActivated: () => `episode ${a.episodeId} active until ${iso(a.expiresAt)}`,
      BreakGlassCancelled: () => `episode ${a.episodeId}`,
      BreakGlassClosed: () => `episode ${a.episodeId} closed at ${iso(a.closedAt)}`,
      BreakGlassReviewed: () => `episode ${a.episodeId} ${a.accepted ? "accepted" : "FLAGGED"}`,
    }[e.fragment.name]?.() ?? "";
    rows.push(h("tr", { testid: "audit-row", "data-event": e.fragment.name, "data-record": a.recordRef ?? "" },
      h("td", {}, iso(await ch.blockTime(e.blockNumber))), h("td", {}, e.fragment.name),
      h("td", {}, who ? h("code", { title: who }, short(who)) : ""), h("td", {}, detail)));
  }
  const now = (await ch.provider.getBlock("latest")).timestamp;
  const epRows = [];
  for (const idn of episodeIds) {
    const ep = await ch.c.ConsentRegistry.episode(idn);
    const status = EPISODE_STATUS[Number(ep.status)];
    const review = status === "Accepted" ? "reviewed: accepted" : status === "Flagged" ? "reviewed: FLAGGED"
      : status === "Active" ? (Number(ep.expiresAt) > now ? "emergency access open" : "awaiting review") : status.toLowerCase();
    epRows.push(h("tr", { testid: "episode-row" }, h("td", {}, String(idn)), h("td", {}, h("code", {}, short(ep.clinician))),
      h("td", {}, iso(ep.requestedAt)), h("td", {}, `${ep.approvals}`), h("td", {}, status), h("td", { testid: "episode-review" }, review)));
  }
  return [h("h2", {}, "My audit trail"),
    h("h3", {}, "Break-glass episodes"),
    table("episodes", ["episode", "clinician", "requested", "approvals", "status", "review"], epRows, "No emergency access to your record."),
    h("h3", {}, "Every event"),
    table("audit", ["when", "event", "who", "detail"], rows, "Nothing yet.")];
}

async function providerPage() {
  const patient = state.accounts[1].address;
  const check = h("form", { class: "card", testid: "check-form", onsubmit: async (ev) => {
    ev.preventDefault(); clearError();
    const d = new FormData(check);
    const out = check.querySelector("output");
    try {
      const p = didAddress(d.get("patient"), state.chainId), g = didAddress(d.get("grantee"), state.chainId);
      const ok = await state.chain.c.ConsentRegistry.hasAccess(p, g, scopeId(d.get("scope")), ACTIONS[d.get("action")], PURPOSES.indexOf(d.get("purpose")));
      out.textContent = ok ? `ALLOWED: ${short(g)} may ${d.get("action")} ${d.get("scope")} for ${d.get("purpose")}` : `NOT ALLOWED: no consent (or a deny) for ${d.get("action")} ${d.get("scope")} / ${d.get("purpose")}`;
      out.className = ok ? "ok" : "err";
    } catch (err) { showError(state.chain.explain(err).text); }
  } },
  h("h3", {}, "Check access"),
  h("label", {}, "Patient ", h("input", { name: "patient", value: state.me === patient ? "" : patient, required: true })),
  h("label", {}, "Grantee ", h("input", { name: "grantee", value: state.me, required: true })),
  h("label", {}, "Scope ", h("input", { name: "scope", list: "scopes2", value: "Observation" }), h("datalist", { id: "scopes2" }, SCOPES.map((s) => h("option", { value: s })))),
  h("div", { class: "row" },
    h("label", {}, "Action ", h("select", { name: "action" }, Object.keys(ACTIONS).map((a) => h("option", {}, a)))),
    h("label", {}, "Purpose ", h("select", { name: "purpose" }, PURPOSES.map((p) => h("option", { title: PURPOSE_TITLES[p] }, p))))),
  h("button", { type: "submit", testid: "check-submit" }, "Check"), " ", h("output", { testid: "check-result" }));

  const bg = h("form", { class: "card", testid: "breakglass-form", onsubmit: async (ev) => {
    ev.preventDefault(); clearError();
    const d = new FormData(bg);
    const out = bg.querySelector("output");
    try {
      const p = didAddress(d.get("patient"), state.chainId);
      const note = commitment(d.get("reason"));
      const seconds = Math.round(Number(d.get("hours")) * 3600);
      const receipt = await send(`break-glass request for ${short(p)}`, state.chain,
        (c) => c.c.ConsentRegistry.requestBreakGlass(p, note.commitment, seconds));
      const log = receipt.logs.map((l) => { try { return state.chain.c.ConsentRegistry.interface.parseLog(l); } catch { return null; } })
        .find((l) => l?.name === "BreakGlassRequested");
      const blob = new Blob([JSON.stringify(note, null, 2)], { type: "application/json" });
      out.replaceChildren(`Episode ${log.args.episodeId} requested; approvers must now approve. Keep the note (text + salt), it opens the on-chain commitment `,
        h("code", { testid: "reason-hash" }, note.commitment), " ",
        h("a", { href: URL.createObjectURL(blob), download: `reason-${log.args.episodeId}.json` }, "download note"));
      out.className = "ok";
    } catch (err) { if (!err.handled) showError(state.chain.explain(err).text); }
  } },
  h("h3", {}, "Request break-glass (emergency access)"),
  h("label", {}, "Patient ", h("input", { name: "patient", value: patient, required: true })),
  h("label", {}, "Clinical reason (only its salted commitment goes on chain) ", h("input", { name: "reason", required: true, placeholder: "unresponsive in ED; medication history needed" })),
  h("label", {}, "Duration (hours, at most 24) ", h("input", { name: "hours", type: "number", min: "0.25", max: "24", step: "0.25", value: "2" })),
  h("button", { type: "submit", testid: "breakglass-submit" }, "Request emergency access"), " ", h("output", { testid: "breakglass-result" }));
  return [h("h2", {}, "Provider"), check, bg];
}

// ---------------------------------------------------------------- boot
async function boot() {
  const app = $("#app");
  app.replaceChildren(
    h("header", {}, h("h1", {}, "medchain portal"), h("span", { class: "muted", id: "book" })),
    walletBar(),
    h("nav", {}, Object.entries(PAGES).map(([k, v]) => h("a", { href: `#${k}`, testid: `nav-${k}` }, v))),
    h("div", { id: "error", class: "error", role: "alert", testid: "error", hidden: true }),
    h("main", { id: "page" }),
    h("aside", {}, h("h3", {}, "Transactions"), h("ul", { id: "txs", testid: "txs" })));
  try {
    state.book = await loadBook();
    $("#book").textContent = `address book ${state.book.name}`;
  } catch (err) { showError(err.message); return; }
  window.addEventListener("hashchange", () => { clearError(); render(); });
  await render();
  document.body.dataset.ready = "1";
}
boot();
