/* Jikimi page behaviour. Static file only: the CSP forbids inline script. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    document.documentElement.classList.add("js");

    // The language switch submits on change; its button stays for keyboard and no-JS users.
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.form) select.form.submit();
      });
    });

    // Demo login page: fetch the codes again just after each 30-second TOTP step begins,
    // so the table never shows a code that has just expired.
    document.querySelectorAll("[data-totp-refresh]").forEach(function (el) {
      function schedule() {
        var wait = 30000 - (Date.now() % 30000) + 500;
        window.setTimeout(function () {
          el.dispatchEvent(new CustomEvent("totp-step"));
          schedule();
        }, wait);
      }
      schedule();
    });

    // The identity form: the "kind of name" only matters for names.
    document.querySelectorAll("select[name=kind]").forEach(function (kind) {
      var form = kind.form;
      var nameKind = form && form.querySelector("select[name=name_kind]");
      if (!nameKind) return;
      var field = nameKind.closest(".field");
      function sync() {
        if (field) field.hidden = kind.value !== "name";
      }
      kind.addEventListener("change", sync);
      sync();
    });
  });
})();
