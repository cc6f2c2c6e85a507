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

// Header search: arrow keys move through the dropdown, Enter opens the highlighted
// result (or the full results page), Escape closes it.
(function () {
  "use strict";
  function items(form) { return Array.prototype.slice.call(form.querySelectorAll(".dropdown-item")); }
  function setActive(form, index) {
    var list = items(form);
    list.forEach(function (el, i) { el.classList.toggle("active", i === index); el.setAttribute("aria-selected", i === index ? "true" : "false"); });
    form.dataset.active = String(index);
  }
  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input || input.id !== "header-q") return;
    var form = input.form;
    var list = items(form);
    var active = parseInt(form.dataset.active || "-1", 10);
    if (event.key === "ArrowDown" && list.length) {
      event.preventDefault(); setActive(form, Math.min(active + 1, list.length - 1));
    } else if (event.key === "ArrowUp" && list.length) {
      event.preventDefault(); setActive(form, Math.max(active - 1, -1));
    } else if (event.key === "Enter" && active >= 0 && list[active]) {
      event.preventDefault(); list[active].click();
    } else if (event.key === "Escape") {
      var dropdown = form.querySelector("#search-dropdown");
      if (dropdown) dropdown.innerHTML = "";
      input.setAttribute("aria-expanded", "false");
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "search-dropdown") {
      var form = event.target.closest("form");
      if (form) { form.dataset.active = "-1"; }
      var input = document.getElementById("header-q");
      if (input) input.setAttribute("aria-expanded", event.target.children.length ? "true" : "false");
    }
  });
  document.addEventListener("click", function (event) {
    var dropdown = document.getElementById("search-dropdown");
    if (dropdown && !event.target.closest("[data-search-dropdown]")) dropdown.innerHTML = "";
  });
  // Upload progress for htmx file uploads.
  document.addEventListener("htmx:xhr:progress", function (event) {
    var bar = event.target.querySelector && event.target.querySelector(".upload-progress");
    if (bar && event.detail.lengthComputable) bar.value = Math.round(event.detail.loaded / event.detail.total * 100);
  });
})();
