// Drive Debian's Chromium with playwright-core: open the wallet page at argv[2], run the JSON
// list of steps from stdin (API calls inside the page, or clicks and waits like a citizen),
// print the answers as JSON. argv[3], when given, is a profile folder kept between runs, so
// the keys the page made in localStorage survive, as they do in a citizen's browser.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync"];
const MINED = () => /mined|failed/.test(document.getElementById("status").textContent);
const SIGNED_IN = () => /signed in|failed/.test(document.getElementById("status").textContent);
const READY = () => document.body.dataset.ready === "page" || /unreachable/.test(document.getElementById("status").textContent);

async function apiSteps(page, steps) {
  return page.evaluate(async (steps) => {
    const w = window.qcityWallet;
    const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    const out = [];
    for (const s of steps) {
      const id = w.loadIdentity();
      if (s.op === "identity") out.push({ address: id.address, publicKey: hex(id.pq.publicKey), pkHash: await w.publicKeyHash(id) });
      else if (s.op === "sign-grant") out.push(await w.signConsentGrant(id, s.chainId, s.ledger, s.nonce, s.terms, s.deadline));
      else if (s.op === "sign-challenge") out.push({ signature: w.signChallenge(id, s.challenge, s.context) });
      else if (s.op === "merkle") out.push({ ok: w.verifyInclusion(s.root, s.leaf, s.proof) });
      else if (s.op === "text") out.push({ text: document.getElementById(s.id).textContent });
      else throw new Error(`unknown step ${s.op}`);
    }
    return out;
  }, steps);
}

async function uiStep(page, s) {
  await page.waitForFunction(READY, null, { timeout: 20000 });
  if (s.op === "grant") {
    await page.fill("input[name=grantee]", s.grantee);
    await page.fill("input[name=category]", s.category);
    await page.fill("input[name=purpose]", s.purpose);
    await page.click("[data-testid=grant]");
    await page.waitForFunction(MINED, null, { timeout: 30000 });
  } else if (s.op === "revoke") {
    await page.click("#consents [data-testid=revoke]");
    await page.waitForFunction(MINED, null, { timeout: 30000 });
  } else {
    await page.click("#login");
    await page.waitForFunction(SIGNED_IN, null, { timeout: 30000 });
  }
  const table = s.op === "history" ? "#history" : "#consents";
  const answer = {
    status: await page.textContent("#status"),
    lastBlock: await page.evaluate(() => Number(document.body.dataset.lastBlock || 0)),
    relayed: await page.evaluate(() => document.body.dataset.relayed === "true"),
    rows: await page.$$eval(`${table} tr`, (rows) => rows.map((r) => ({
      proof: r.dataset.proof, cells: [...r.cells].map((c) => c.textContent) }))),
  };
  if (s.op === "history") {
    // what a citizen downloads: the file behind each receipt's link, fetched as the browser would
    answer.receipts = await page.$$eval("#receipts tr", (rows) => Promise.all(rows.map(async (r) => {
      const link = r.querySelector("a[data-testid=receipt-download]");
      return { verified: r.dataset.verified, cells: [...r.cells].map((c) => c.textContent),
        filename: link.download, file: await (await fetch(link.href)).text() };
    })));
  }
  return answer;
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
const steps = JSON.parse(input);
const keep = Boolean(process.argv[3]);
const profile = process.argv[3] || mkdtempSync(join(tmpdir(), "qcity-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.QCITY_CHROMIUM || "/usr/bin/chromium", headless: true, args: FLAGS,
});
try {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(process.argv[2]);
  await page.waitForFunction(() => ["identity", "page"].includes(document.body.dataset.ready), null, { timeout: 20000 });
  const answers = [];
  for (const s of steps) {
    if (["grant", "revoke", "history"].includes(s.op)) answers.push(await uiStep(page, s));
    else answers.push(...(await apiSteps(page, [s])));
  }
  process.stdout.write(JSON.stringify({ answers, errors }));
} finally {
  await context.close();
  if (!keep) rmSync(profile, { recursive: true, force: true });
}
