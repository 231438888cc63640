import { ApiError, submitJob } from "../api";
import { h } from "../dom";

/** `https://github.com/OWNER/REPO`, optionally `/tree/REF` or `.git`: what the Worker fetches. */
const GITHUB = /^https:\/\/github\.com\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+(\/tree\/[^\s]+)?\/?$/;
/** GitHub's SSH clone URLs (`git@github.com:OWNER/REPO.git`, `ssh://git@github.com/OWNER/REPO`). */
const GITHUB_SSH = /^(?:git@github\.com:|ssh:\/\/git@github\.com\/)([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+?)(?:\.git)?\/?$/;

/** The repository URL the Worker takes for what the user typed, or why there is none. */
export function repositoryUrl(typed: string): { url: string } | { problem: string } {
  const ssh = typed.match(GITHUB_SSH);
  const url = ssh ? `https://github.com/${ssh[1]}` : typed;
  if (GITHUB.test(url)) return { url };
  if (/^(https?|git|ssh):\/\/|^[\w.-]+@[\w.-]+:/.test(typed)) {
    return {
      problem:
        "Only GitHub repositories can be documented here (https://github.com/OWNER/REPO or its git URL); for another git host, run `doctown generate URL` on your machine.",
    };
  }
  return { problem: "Give a GitHub repository URL: https://github.com/OWNER/REPO, optionally with /tree/REF." };
}

export function submitPage(): HTMLElement {
  const repo = h("input", { id: "repo", name: "repo", placeholder: "https://github.com/OWNER/REPO or git@github.com:OWNER/REPO.git", required: true, autocomplete: "off" });
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
    const checked = repositoryUrl(repo.value.trim());
    if ("problem" in checked) {
      problem.textContent = checked.problem;
      repo.focus();
      return;
    }
    const url = checked.url;
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
