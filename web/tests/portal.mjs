// Browser steps of the portal test, driven by tests/web/test_portal.py (pytest checks the
// chain through the Python SDK between steps). Debian's Chromium through playwright-core:
//   node tests/portal.mjs <step> '<json args>'    env: PORTAL_URL, PORTAL_SHOTS
// Each step prints one JSON line (its result) and exits 0, or prints the failure and exits 1.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [step, rawArgs = "{}"] = process.argv.slice(2);
const args = JSON.parse(rawArgs);
const URL_ = process.env.PORTAL_URL ?? "http://127.0.0.1:4173/";
const SHOTS = process.env.PORTAL_SHOTS ?? "test-results/screenshots";
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const T = 20_000;

function expect(cond, what) { if (!cond) throw new Error(`expectation failed: ${what}`); }

async function open(browser, viewport, account, page = "consent") {
  const ctx = await browser.newContext({ viewport, acceptDownloads: true });
  const p = await ctx.newPage();
  p.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
  await p.goto(`${URL_}#${page}`);
  await p.waitForSelector("body[data-ready='1']", { timeout: T });
  await p.selectOption("[data-testid=dev-account]", { index: account });
  await p.click("[data-testid=use-dev-key]");
  await p.waitForSelector(`[data-testid=page-${page}]`, { timeout: T });
  expect(await p.isVisible("[data-testid=dev-warning]"), "the DEV warning is visible in dev-key mode");
  return p;
}

async function goto(p, page) {
  await p.click(`[data-testid=nav-${page}]`);
  await p.waitForSelector(`[data-testid=page-${page}]`, { timeout: T });
}

async function shot(p, name) {
  mkdirSync(SHOTS, { recursive: true });
  const file = join(SHOTS, `${name}.png`);
  await p.screenshot({ path: file, fullPage: true });
  return file;
}

const row = (grantee, scope, kind = "permit") =>
  `[data-testid=grant-row][data-grantee="${grantee}"][data-scope="${scope}"][data-kind="${kind}"]`;

async function lastTx(p) {
  await p.waitForFunction(() => {
    const t = document.querySelector("[data-testid=tx]");
    return t && !/signing|pending/.test(t.className);
  }, null, { timeout: T });
  return p.textContent("[data-testid=tx]");
}

const steps = {
  // The patient (account 1) grants by EIP-712 signature; a relayer account submits it.
  async grant(browser) {
    const p = await open(browser, DESKTOP, 1, "consent");
    const f = "[data-testid=grant-form]";
    await p.fill(`${f} [name=grantee]`, args.grantee);
    await p.fill(`${f} [name=scope]`, args.scope);
    for (const purpose of args.purposes) await p.check(`${f} input[name=purpose][value=${purpose}]`);
    if (args.relayer !== undefined) {
      const value = await p.$eval("[data-testid=relayer]", (s, i) =>
        [...s.options].find((o) => o.textContent.startsWith(`relayer: ${i} `)).value, args.relayer);
      await p.selectOption("[data-testid=relayer]", value);
    }
    await p.click("[data-testid=grant-submit]");
    const tx = await lastTx(p);
    expect(/confirmed/.test(tx), `the grant transaction is confirmed (${tx})`);
    const status = await p.textContent(`${row(args.grantee, args.scope)} [data-testid=grant-status]`, { timeout: T });
    expect(/active/.test(status) && /hasAccess ✓/.test(status), `the new grant shows active with hasAccess (${status})`);
    return { tx, status, shot: await shot(p, "consent-after-grant-desktop") };
  },

  async revoke(browser) {
    const p = await open(browser, DESKTOP, 1, "consent");
    await p.click(`${row(args.grantee, args.scope)} [data-testid=revoke]`);
    const tx = await lastTx(p);
    expect(/confirmed/.test(tx) && /revoke/.test(tx), `the revocation is confirmed (${tx})`);
    await p.waitForSelector(row(args.grantee, args.scope), { state: "detached", timeout: T });
    return { tx };
  },

  // The provider (clinician) requests break-glass; the note's salt comes from the page.
  async breakglass(browser) {
    const p = await open(browser, DESKTOP, 2, "provider");
    const f = "[data-testid=breakglass-form]";
    await p.fill(`${f} [name=patient]`, args.patient);
    await p.fill(`${f} [name=reason]`, args.reason);
    await p.fill(`${f} [name=hours]`, "1");
    await p.click("[data-testid=breakglass-submit]");
    await p.waitForSelector("[data-testid=reason-hash]", { timeout: T });
    const href = await p.getAttribute(`${f} a[download]`, "href");
    const note = await p.evaluate(async (u) => (await fetch(u)).json(), href);
    const text = await p.textContent("[data-testid=breakglass-result]");
    const episode = Number(/Episode (\d+)/.exec(text)[1]);
    return { note, episode };
  },

  // Someone without CLINICIAN_ROLE (account 4, lab) asks for break-glass: decoded refusal.
  async refused(browser) {
    const p = await open(browser, DESKTOP, 4, "provider");
    const f = "[data-testid=breakglass-form]";
    await p.fill(`${f} [name=patient]`, args.patient);
    await p.fill(`${f} [name=reason]`, "curious");
    await p.click("[data-testid=breakglass-submit]");
    await p.waitForSelector("[data-testid=error]:not([hidden])", { timeout: T });
    const error = await p.textContent("[data-testid=error]");
    const tx = await lastTx(p);
    const file = await shot(p, "provider-refused-desktop");
    const ph = await open(browser, PHONE, 2, "provider");
    await ph.fill("[data-testid=check-form] [name=patient]", args.patient);
    await ph.fill("[data-testid=check-form] [name=scope]", "Observation");
    await ph.click("[data-testid=check-submit]");
    await ph.waitForFunction(() => document.querySelector("[data-testid=check-result]").textContent.length > 0);
    const check = await ph.textContent("[data-testid=check-result]");
    return { error, tx, check, shot: file };
  },

  // The audit trail lists the access the provider logged; then every page at both widths.
  async audit(browser) {
    const p = await open(browser, DESKTOP, 1, "audit");
    const sel = `[data-testid=audit-row][data-event=AccessRecorded][data-record="${args.recordRef}"]`;
    await p.waitForSelector(sel, { timeout: T });
    const access = await p.textContent(sel);
    const events = await p.$$eval("[data-testid=audit-row]", (rows) => rows.map((r) => r.dataset.event));
    const reviews = await p.$$eval("[data-testid=episode-review]", (c) => c.map((x) => x.textContent));
    const shots = [];
    for (const [name, viewport] of [["desktop", DESKTOP], ["phone", PHONE]]) {
      const q = viewport === DESKTOP ? p : await open(browser, PHONE, 1, "audit");
      for (const page of ["identity", "records", "consent", "audit", "provider"]) {
        await goto(q, page);
        await q.waitForLoadState("networkidle");
        const wide = await q.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
        expect(!wide, `${page} at ${name} width has no horizontal page scroll`);
        shots.push(await shot(q, `${page}-${name}`));
      }
    }
    const did = await (async () => { await goto(p, "identity"); return p.textContent("[data-testid=did]"); })();
    const keys = await p.$$eval("[data-testid=did-keys] tbody tr", (r) => r.length).catch(() => 0);
    await goto(p, "records");
    const records = await p.$$eval("[data-testid=record-row]", (r) => r.map((x) => x.textContent));
    return { access, events, reviews, did, keys, records, shots };
  },
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  // playwright itself starts Chromium with a fresh, empty --user-data-dir (a temporary
  // folder it removes at close); passing the flag here is refused by launch().
});
let code = 0;
try {
  if (!steps[step]) throw new Error(`unknown step ${step}; one of ${Object.keys(steps).join(", ")}`);
  console.log(JSON.stringify(await steps[step](browser)));
} catch (err) {
  console.error(`step ${step} failed: ${err.stack ?? err}`);
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
