// Browser checks of the website, in Debian's Chromium driven by Playwright (playwright-core).
// Run by cli/tests/edge.rs against the local stack (wrangler dev, gpu-service, the GitHub
// stand-in) and against `doctown view`:
//   node web/tests/browser.mjs stack URL SCREENSHOTS
//   node web/tests/browser.mjs view URL SCREENSHOTS
// and by scripts/bench-web.sh, which measures the graph view's frame time on a big docpack:
//   node web/tests/browser.mjs bench URL SCREENSHOTS
// Each check throws on failure (exit 1, with what was expected); screenshots of each page go to
// SCREENSHOTS for a person to look at.

import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const [mode, url, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
/** Long enough for a job of the fixture on two cores (its embedding runs on the CPU). */
const JOB_TIMEOUT = 240_000;

const executablePath = process.env.CHROMIUM ?? execFileSync("which", ["chromium"]).toString().trim();
const browser = await chromium.launch({
  executablePath,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
});

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
  console.log(`ok: ${what}`);
}

async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/** A page that fails the run on any script error or CSP violation. */
async function newPage(context) {
  const page = await context.newPage();
  page.on("pageerror", (e) => {
    console.error(`page error: ${e.message}`);
    process.exitCode = 1;
  });
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy/.test(m.text())) {
      console.error(`CSP: ${m.text()}`);
      process.exitCode = 1;
    }
  });
  return page;
}

async function stack() {
  const context = await browser.newContext();
  const page = await newPage(context);
  await page.goto(`${url}/#/`);
  await shot(page, "1-submit");

  // Validation is inline.
  await page.fill("#repo", "https://gitlab.com/a/b");
  await page.click("#submit button");
  await page.waitForSelector("#submit-error:not(:empty)");
  check((await page.textContent("#submit-error")).includes("Only GitHub repositories"), "a git URL of another host is refused inline");
  await page.fill("#repo", "widgets");
  await page.click("#submit button");
  await page.waitForFunction(() => document.querySelector("#submit-error")?.textContent.includes("Give a GitHub repository URL"));
  check(true, "what is not a URL is refused inline");

  // The job's first event socket delivers its first ten events out of order and some twice,
  // then drops; the page must show each once, in order, and reconnect from the next.
  const since = [];
  await page.routeWebSocket(/\/api\/jobs\/[0-9a-f]+\/events/, (ws) => {
    since.push(Number(new URL(ws.url()).searchParams.get("since")));
    const server = ws.connectToServer();
    if (since.length > 1) return; // passed through as is
    let relayed = 0;
    let held = null;
    server.onMessage((message) => {
      if (relayed === 10) return;
      relayed++;
      if (relayed % 3 === 1 && relayed < 10) {
        held = message; // sent after the next one
        return;
      }
      ws.send(message);
      if (held) {
        ws.send(held);
        ws.send(held); // and again
        held = null;
      }
      if (relayed === 10) ws.close({ code: 1001, reason: "dropped by the test" });
    });
  });

  // GitHub's SSH clone URL names the same repository.
  await page.fill("#repo", "git@github.com:acme/widgets.git");
  await page.fill("#ref", "v1");
  await page.click("#submit button");
  await page.waitForURL(/#\/jobs\/[0-9a-f]+$/);
  const jobUrl = page.url();

  // Progress arrives live: the ingest bar finishes while the page is open.
  await page.waitForSelector('[data-stage="ingest"].finished', { timeout: JOB_TIMEOUT });
  check((await page.locator("#log li").count()) > 0, "events stream into the log");
  check(since[0] === 0 && since[1] === 10, `after the drop the page reconnected from the next event (since ${since.join(", ")})`);
  const seqs = (await page.locator("#log li").allTextContents()).map((line) => Number(line.split(" ")[0]));
  check(seqs.every((seq, i) => seq === i), `no event lost, repeated or out of order across the drop (${seqs.length} in order)`);
  await page.waitForSelector("#approve", { timeout: JOB_TIMEOUT });
  check((await page.textContent("#estimate")).includes("symbols"), "the estimate is shown");
  await shot(page, "2-job-estimate");

  // A reload loses nothing: the log is read again from the start.
  const before = await page.locator("#log li").count();
  await page.reload();
  await page.waitForSelector("#approve", { timeout: JOB_TIMEOUT });
  await page.waitForFunction((n) => document.querySelectorAll("#log li").length >= n, before);
  check(true, "after a reload the page shows the same events and the approval");

  await page.click("#approve");
  await page.waitForSelector("#final-status", { timeout: JOB_TIMEOUT });
  const status = await page.getAttribute("#final-status", "data-status");
  check(status === "ok", `the job ends ok (${status})`);
  const skipped = await page.locator("#skipped li").allTextContents();
  check(skipped.length > 0 && skipped.every((line) => /: \S/.test(line)), `skipped files are listed with why (${skipped.join("; ")})`);
  for (const stage of ["ingest", "embed", "assemble", "generate", "pack"]) {
    check((await page.locator(`[data-stage="${stage}"].finished`).count()) === 1, `the ${stage} stage is finished`);
  }
  await shot(page, "3-job-done");

  // The explorer.
  await page.click("#open-docpack");
  await page.waitForSelector("#architecture", { timeout: 30_000 });
  check((await page.locator("#top-symbols li").count()) > 0, "the overview lists central symbols");
  await shot(page, "4-explorer");
  await symbolToCaller(page, "parse_args");
  await searchFor(page, "parse_args");
  await graph(page);

  // Library.
  await page.click("#library-link");
  await page.waitForSelector("#library tbody tr");
  check((await page.textContent("#library")).includes("acme/widgets"), "the library lists the job");
  await shot(page, "8-library");

  // Share, and open the link with no credentials.
  await page.goto(jobUrl);
  await page.click("#open-docpack");
  await page.click("#make-public");
  await page.waitForSelector("#share-link");
  const link = await page.inputValue("#share-link");
  check(/\/p\/[A-Za-z0-9_-]+$/.test(link), `a share link is made (${link})`);
  const stranger = await browser.newContext();
  const outsider = await newPage(stranger);
  await outsider.goto(link);
  await outsider.waitForSelector("#architecture", { timeout: 30_000 });
  check((await outsider.locator("#make-public").count()) === 0, "a stranger sees the shared docpack, without the owner's controls");
  await shot(outsider, "9-shared");
  await stranger.close();

  // Without the owner's token, the private docpack's own URL is refused.
  const anonymous = await browser.newContext();
  const nobody = await newPage(anonymous);
  const owned = page.url().replace(/\/p\/.*$/, "");
  await nobody.goto(owned);
  await nobody.waitForSelector("#explorer-error");
  check(true, "the private docpack is refused to a browser without its owner's token");
  await anonymous.close();
}

async function symbolToCaller(page, name) {
  await page.fill("#search", name);
  await page.press("#search", "Enter");
  await page.waitForSelector("#search-results");
  await page.locator(`#search-results a[data-symbol$="${name}"]`).first().click();
  await page.waitForSelector("#symbol");
  const callee = await page.textContent("#symbol-name");
  const callers = page.locator("#called-by a");
  check((await callers.count()) > 0, `${callee} has callers`);
  const caller = await callers.first().textContent();
  await callers.first().click();
  await page.waitForFunction((c) => document.querySelector("#symbol-name")?.textContent === c, caller);
  check((await page.locator("#calls a", { hasText: callee }).count()) > 0, `${caller}, reached from ${callee}, lists it among its calls`);
  check((await page.textContent("#generated-doc")).length > 0, "the symbol page shows its generated doc");
  await page.waitForSelector("#excerpt");
  const shortName = caller.split(".").pop();
  check((await page.textContent("#excerpt")).includes(`def ${shortName}`), `the symbol page shows ${caller}'s source, read at the commit`);
  check(/\/blob\/[0-9a-f]{40}\//.test(await page.getAttribute("#source-link", "href")), "and links to it pinned to the commit");
  await shot(page, "5-symbol");
}

async function searchFor(page, name) {
  await page.fill("#search", name);
  await page.press("#search", "Enter");
  await page.waitForSelector("#search-results li");
  check((await page.textContent("#search-results h2")).includes(name), `search finds ${name}`);
  await shot(page, "6-search");
}

async function graph(page) {
  await page.click("#graph-link");
  await page.waitForSelector("#graph canvas");
  await page.waitForFunction(() => Number(document.querySelector("#graph")?.dataset.nodes) > 0);
  const nodes = await page.getAttribute("#graph", "data-nodes");
  check(Number(nodes) > 0, `the call graph draws ${nodes} nodes`);
  await shot(page, "7-graph");
  await page.fill("#graph-filter", "parse");
  await shot(page, "7-graph-filtered");
  await page.click('a[href$="/graph/modules"]');
  await page.waitForFunction((n) => document.querySelector("#graph")?.dataset.nodes !== n, nodes);
  await page.waitForSelector("#graph canvas");
  await shot(page, "7-graph-modules");
  check(true, `the module graph draws ${await page.getAttribute("#graph", "data-nodes")} modules`);
}

async function view() {
  const context = await browser.newContext();
  const page = await newPage(context);
  await page.goto(url);
  await page.waitForSelector("#architecture", { timeout: 30_000 });
  await page.fill("#search", "render");
  await page.press("#search", "Enter");
  await page.locator('#search-results a[data-symbol$="render"]').first().click();
  await page.waitForSelector("#doc-comment");
  const comment = await page.textContent("#doc-comment");
  check(comment.includes("<script>window.pwned = 1</script>"), "a doc comment holding <script> is shown as text");
  check((await page.evaluate(() => window.pwned)) === undefined, "and nothing in it ran");
  check((await page.locator("#symbol script, #symbol img").count()) === 0, "no element was made from it");
  await page.waitForSelector("#excerpt");
  check((await page.textContent("#excerpt")).startsWith("def render(page):"), "the excerpt comes from the checkout given to doctown view");
  await shot(page, "10-view-escaped");
}

/** How long the benchmark zooms and pans, as a user would with the wheel and the mouse. */
const BENCH_MS = 6_000;

async function bench() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await newPage(context);
  await page.goto(url);
  await page.waitForSelector("#architecture", { timeout: 120_000 });
  // The longest frame while the graph is laid out: how long the page stops answering.
  await page.evaluate(() => {
    window.longest = 0;
    let last = performance.now();
    const tick = (now) => {
      window.longest = Math.max(window.longest, now - last);
      last = now;
      if (!window.laidOut) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const started = Date.now();
  await page.click("#graph-link");
  await page.waitForFunction(() => Number(document.querySelector("#graph")?.dataset.nodes) > 0, null, { timeout: 300_000 });
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  const shown = Date.now() - started;
  const longest = await page.evaluate(() => {
    window.laidOut = true;
    return window.longest;
  });
  // Every frame's time, from requestAnimationFrame, while the mouse works the graph.
  await page.evaluate(() => {
    window.frames = [];
    let last = performance.now();
    const tick = (now) => {
      window.frames.push(now - last);
      last = now;
      if (!window.framesDone) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const box = await page.locator("#graph").boundingBox();
  const [cx, cy] = [box.x + box.width / 2, box.y + box.height / 2];
  await page.mouse.move(cx, cy);
  const until = Date.now() + BENCH_MS;
  for (let i = 0; Date.now() < until; i++) {
    if (i % 2 === 0) {
      await page.mouse.wheel(0, i % 8 < 4 ? -120 : 120);
    } else {
      await page.mouse.down();
      await page.mouse.move(cx + 60 * Math.sin(i), cy + 40 * Math.cos(i), { steps: 4 });
      await page.mouse.up();
    }
  }
  const result = await page.evaluate(() => {
    window.framesDone = true;
    const times = window.frames.slice(1).sort((a, b) => a - b);
    const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
    const view = window.doctownGraph;
    return { nodes: view.nodes, edges: view.edges, frames: times.length, mean: times.reduce((a, b) => a + b, 0) / times.length, p50: at(0.5), p95: at(0.95) };
  });
  await shot(page, "bench-graph");
  const layout = await page.getAttribute("#graph", "data-layout-ms");
  const draw = await page.getAttribute("#graph", "data-draw-ms");
  console.log(
    `graph view: ${result.nodes} nodes, ${result.edges} edges; shown in ${shown} ms (layout ${layout} ms in a worker, ` +
      `first draw ${draw} ms; longest frame meanwhile ${longest.toFixed(0)} ms); ` +
      `${result.frames} frames in ${BENCH_MS / 1000} s of wheel zooms and drags: mean ${result.mean.toFixed(1)} ms, ` +
      `p50 ${result.p50.toFixed(1)} ms, p95 ${result.p95.toFixed(1)} ms (${(1000 / result.mean).toFixed(0)} fps)`,
  );
}

try {
  if (mode === "stack") await stack();
  else if (mode === "bench") await bench();
  else await view();
} finally {
  await browser.close();
}
