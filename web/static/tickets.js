// A saved reply's link puts its text into the reply box where the cursor is (without a script
// the link opens the page with the text already in the box).
"use strict";
document.addEventListener("click", (event) => {
  const link = event.target.closest ? event.target.closest("a.insert") : null;
  const box = document.getElementById("reply-text");
  if (!link || !box) return;
  event.preventDefault();
  const text = link.getAttribute("data-body") || "";
  const start = box.selectionStart ?? box.value.length;
  const end = box.selectionEnd ?? box.value.length;
  const before = box.value.slice(0, start);
  const glue = before && !before.endsWith("\n") ? "\n" : "";
  box.value = before + glue + text + box.value.slice(end);
  const caret = (before + glue + text).length;
  box.focus();
  box.setSelectionRange(caret, caret);
});
