// The staff console's only script: confirmations and the live audience count. No inline code
// (the Content-Security-Policy forbids it); every page works without it.
"use strict";
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
});
