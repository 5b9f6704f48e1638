// Progressive enhancement only: confirmation dialogs and copy buttons.
document.addEventListener("submit", (e) => {
  const form = e.target.closest("form.confirm");
  if (form && !window.confirm(form.dataset.confirm || "Are you sure?")) e.preventDefault();
});
document.addEventListener("click", (e) => {
  const btn = e.target.closest("button.copy");
  if (!btn) return;
  const input = document.getElementById(btn.dataset.copy);
  input.select();
  if (navigator.clipboard) navigator.clipboard.writeText(input.value).catch(() => document.execCommand("copy"));
  else document.execCommand("copy");
  btn.textContent = "Copied";
});
