// PIN pad buttons fill the PIN field (no inline script: strict CSP).
document.querySelectorAll(".pinpad .key").forEach(function (key) {
  key.addEventListener("click", function () {
    var field = document.getElementById("pin");
    if (key.dataset.clear) { field.value = ""; }
    else if (field.value.length < 8) { field.value += key.dataset.digit; }
    field.focus();
  });
});
