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

// Presenter mode of the planning meeting: the whole meeting runs from the keyboard.
// → / ← next and previous deal, t tag, k key move, n lesson, a action item,
// o new objection, m new move, ? help, Esc leaves a field.
(function () {
  "use strict";
  function presenting() { return document.body && document.body.dataset.presenter === "1"; }
  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }
  function byId(id) { return document.getElementById(id); }
  function press(id) {
    var el = byId(id);
    if (!el || el.disabled || el.getAttribute("aria-disabled") === "true") return;
    el.click();
  }
  function focusField(id) { var el = byId(id); if (el) { el.focus(); if (el.select) el.select(); } }
  function openCapture(what) {
    var box = byId("capture-" + what);
    if (!box) return;
    box.open = true;
    focusField("capture-" + what + "-title");
  }
  function toggleHelp() {
    var dialog = byId("shortcut-help");
    if (!dialog) return;
    if (dialog.open) dialog.close(); else dialog.showModal();
  }
  function keyButtons() { return Array.prototype.slice.call(document.querySelectorAll("#review-tags .key-toggle")); }

  document.addEventListener("keydown", function (event) {
    if (!presenting() || event.ctrlKey || event.metaKey || event.altKey) {
      // Ctrl+Enter in the lesson saves it.
      if (presenting() && event.target && event.target.id === "lesson" && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        var form = event.target.form;
        if (form) form.requestSubmit ? form.requestSubmit() : form.submit();
      }
      return;
    }
    var target = event.target;
    if (target && target.classList && target.classList.contains("key-toggle")) {
      var keys = keyButtons(), index = keys.indexOf(target);
      if (event.key === "ArrowRight" || event.key === "ArrowDown") { event.preventDefault(); if (keys[index + 1]) keys[index + 1].focus(); return; }
      if (event.key === "ArrowLeft" || event.key === "ArrowUp") { event.preventDefault(); if (keys[index - 1]) keys[index - 1].focus(); return; }
      if (event.key === "Enter" || event.key === " ") return;
      if (event.key === "Escape") { target.blur(); return; }
    }
    if (typing(target)) {
      if (event.key === "Escape") {
        var dropdown = byId("tag-suggestions");
        if (dropdown && target.id === "tag-q") dropdown.innerHTML = "";
        target.blur();
      }
      return;
    }
    switch (event.key) {
      case "ArrowRight": event.preventDefault(); press("next-deal"); break;
      case "ArrowLeft": event.preventDefault(); press("prev-deal"); break;
      case "t": event.preventDefault(); focusField("tag-q"); break;
      case "n": event.preventDefault(); focusField("lesson"); break;
      case "a": event.preventDefault(); focusField("action-text"); break;
      case "o": event.preventDefault(); openCapture("objection"); break;
      case "m": event.preventDefault(); openCapture("move"); break;
      case "c": event.preventDefault(); focusField("close-meeting"); break;
      case "k": {
        event.preventDefault();
        var buttons = keyButtons();
        var current = document.querySelector("#review-tags .key-toggle[aria-pressed=true]");
        (current || buttons[buttons.length - 1] || { focus: function () {} }).focus();
        break;
      }
      case "?": event.preventDefault(); toggleHelp(); break;
    }
  });

  // The tag typeahead: ↓ ↑ choose, Enter tags the chosen (or first) tool.
  function options() { return Array.prototype.slice.call(document.querySelectorAll("#tag-suggestions [data-tag-option]")); }
  function setActive(index) {
    options().forEach(function (el, i) { el.classList.toggle("active", i === index); el.setAttribute("aria-selected", i === index ? "true" : "false"); });
    var input = byId("tag-q");
    if (input) input.dataset.active = String(index);
  }
  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input || input.id !== "tag-q") return;
    var list = options();
    var active = parseInt(input.dataset.active || "-1", 10);
    if (event.key === "ArrowDown" && list.length) { event.preventDefault(); setActive(Math.min(active + 1, list.length - 1)); }
    else if (event.key === "ArrowUp" && list.length) { event.preventDefault(); setActive(Math.max(active - 1, 0)); }
    else if (event.key === "Enter") {
      event.preventDefault();
      var chosen = list[active >= 0 ? active : 0];
      if (chosen) {
        // Enter can come a moment after the suggestions arrived, before htmx has wired
        // them up: process them first, or the form would post as a full page.
        var form = chosen.closest("form");
        if (form && window.htmx) window.htmx.process(form);
        chosen.click();
      }
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var id = event.target && event.target.id;
    if (id === "tag-suggestions") {
      var input = byId("tag-q");
      if (input) input.dataset.active = options().length ? "0" : "-1";
      setActive(options().length ? 0 : -1);
    }
  });
  // After a tag, a key move or a saved lesson the server marks the field to go back to with
  // autofocus. htmx would honour it only when the swap settles, a moment later, when the
  // presenter may already have pressed Escape and a shortcut that then lands in the field.
  // So take the field back in the same tick as the swap, and only if the keyboard has not
  // moved since the request left; either way htmx finds no autofocus left to act on.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.xhr) event.detail.xhr.planerkaFocus = document.activeElement;
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr) xhr.planerkaFocusKept = document.activeElement === xhr.planerkaFocus;
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var marked = Array.prototype.slice.call(document.querySelectorAll("main [autofocus]"));
    marked.forEach(function (el) { el.removeAttribute("autofocus"); });
    if (marked.length && event.detail.xhr && event.detail.xhr.planerkaFocusKept) marked[0].focus();
  });
  document.addEventListener("htmx:afterSettle", startTimer);
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("#help-button")) toggleHelp();
    if (event.target.closest && event.target.closest("[data-print]")) window.print();
    var dropdown = byId("tag-suggestions");
    if (dropdown && !event.target.closest("[data-tag-form]")) dropdown.innerHTML = "";
  });

  // The per-deal timer counts from when the deal went on the shared screen.
  var ticking = null;
  function startTimer() {
    var el = byId("deal-timer");
    if (!el) return;
    if (el.dataset.started) return;
    el.dataset.started = "1";
    var since = el.dataset.since ? Date.parse(el.dataset.since) : Date.now();
    if (isNaN(since)) since = Date.now();
    var budget = parseInt(el.dataset.budget || "0", 10);
    function tick() {
      var seconds = Math.max(0, Math.floor((Date.now() - since) / 1000));
      el.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
      el.classList.toggle("over", budget > 0 && seconds > budget);
    }
    tick();
    if (ticking) clearInterval(ticking);
    ticking = setInterval(function () { if (document.body.contains(el)) tick(); else clearInterval(ticking); }, 1000);
  }
  document.addEventListener("DOMContentLoaded", startTimer);
})();
