// Doctown's website: one page application routed by the URL's hash (and its path for a shared
// docpack, `/p/TOKEN`, and for `doctown view`, `/view`).

import { h, replace } from "./dom";
import { explorerPage } from "./pages/explorer";
import { jobPage } from "./pages/job";
import { libraryPage } from "./pages/library";
import { submitPage } from "./pages/submit";
import "./style.css";

const root = document.getElementById("app")!;
let leave: (() => void) | null = null;

function route(): void {
  leave?.();
  leave = null;
  const hash = location.hash.replace(/^#/, "") || "/";
  const path = location.pathname;
  let page: HTMLElement;
  const shared = path.match(/^\/p\/([A-Za-z0-9_-]+)\/?$/);
  const owned = hash.match(/^\/docpacks\/([0-9a-f]{64})(\/.*)?$/);
  const running = hash.match(/^\/jobs\/([0-9a-f]+)$/);
  if (shared) {
    page = explorerPage({ kind: "shared", token: shared[1] }, "#", hash);
  } else if (path.startsWith("/view")) {
    page = explorerPage({ kind: "local" }, "#", hash);
  } else if (owned) {
    page = explorerPage({ kind: "owned", id: owned[1] }, `#/docpacks/${owned[1]}`, owned[2] ?? "/");
  } else if (running) {
    const job = jobPage(running[1]);
    leave = job.close;
    page = job.element;
  } else if (hash === "/library") {
    page = libraryPage();
  } else {
    page = submitPage();
  }
  replace(root, page);
}

const nav = document.getElementById("nav")!;
replace(nav, h("a", { href: "/#/", class: "brand" }, "Doctown"), h("a", { href: "/#/" }, "Submit"), h("a", { href: "/#/library", id: "library-link" }, "Library"));
window.addEventListener("hashchange", route);
route();
