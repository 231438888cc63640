import { library } from "../api";
import { h, replace } from "../dom";

export function libraryPage(): HTMLElement {
  const body = h("tbody");
  const table = h(
    "table",
    { id: "library" },
    h("thead", {}, h("tr", {}, h("th", {}, "Repository"), h("th", {}, "Ref"), h("th", {}, "Phase"), h("th", {}, "Status"), h("th", {}, "Docpack"))),
    body,
  );
  const note = h("p", {}, "Loading…");
  library()
    .then((jobs) => {
      note.textContent = jobs.length ? "" : "No jobs yet from this browser.";
      replace(
        body,
        jobs.map((j) =>
          h(
            "tr",
            {},
            h("td", {}, h("a", { href: `#/jobs/${j.job_id}` }, j.repo)),
            h("td", {}, j.ref ?? ""),
            h("td", {}, j.phase),
            h("td", {}, j.status ?? ""),
            h("td", {}, j.docpack_id ? h("a", { href: `#/docpacks/${j.docpack_id}` }, j.docpack_id.slice(0, 12)) : ""),
          ),
        ),
      );
    })
    .catch((e) => (note.textContent = String(e.message ?? e)));
  return h("section", { class: "page" }, h("h1", {}, "Library"), note, table);
}
