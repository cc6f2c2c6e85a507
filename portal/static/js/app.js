// Planerka: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // Forms marked data-autosubmit submit on change (the language switch); their
  // fallback button stays for people without JavaScript.
  function enhanceAutosubmit(root) {
    root.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
      if (form.dataset.enhanced) return;
      form.dataset.enhanced = "1";
      var fallback = form.querySelector("[data-autosubmit-fallback]");
      if (fallback) fallback.hidden = true;
      form.addEventListener("change", function () {
        form.requestSubmit ? form.requestSubmit() : form.submit();
      });
    });
  }

  // A notice swapped in by an error response can be dismissed with Escape.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      var notice = document.getElementById("notice");
      if (notice) notice.innerHTML = "";
    }
  });

  document.addEventListener("DOMContentLoaded", function () { enhanceAutosubmit(document); });
  document.addEventListener("htmx:load", function (event) { enhanceAutosubmit(event.target); });
})();
