import { ApiError, submitJob } from "../api";
import { h } from "../dom";

/** `https://github.com/OWNER/REPO`, optionally `/tree/REF`: what the Worker fetches. */
const GITHUB = /^https:\/\/github\.com\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+(\/tree\/[^\s]+)?\/?$/;

export function submitPage(): HTMLElement {
  const repo = h("input", { id: "repo", name: "repo", type: "url", placeholder: "https://github.com/OWNER/REPO", required: true, autocomplete: "off" });
  const ref = h("input", { id: "ref", name: "ref", placeholder: "main (default branch when empty)", autocomplete: "off" });
  const problem = h("p", { id: "submit-error", class: "error", role: "alert" });
  const button = h("button", { type: "submit" }, "Document it");
  const form = h(
    "form",
    { id: "submit", novalidate: true },
    h("label", { for: "repo" }, "Repository"),
    repo,
    h("label", { for: "ref" }, "Ref"),
    ref,
    problem,
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    const url = repo.value.trim();
    if (!GITHUB.test(url)) {
      problem.textContent = "Give a GitHub repository URL: https://github.com/OWNER/REPO, optionally with /tree/REF.";
      repo.focus();
      return;
    }
    button.disabled = true;
    try {
      const job = await submitJob(url, ref.value.trim() || null);
      location.hash = `#/jobs/${job.job_id}`;
    } catch (e) {
      problem.textContent = e instanceof ApiError ? e.message : String(e);
    } finally {
      button.disabled = false;
    }
  });
  return h(
    "section",
    { class: "page" },
    h("h1", {}, "Document a repository"),
    h("p", {}, "Doctown reads the code, computes what it is, and has the facts put into words. You see the cost before anything is paid for."),
    form,
  );
}
