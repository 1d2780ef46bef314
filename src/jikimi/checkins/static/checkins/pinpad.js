// The on-screen PIN keypad (no inline script: strict CSP). The page works without it: the
// keypad stays hidden and the PIN field takes the phone's own number keyboard.
(function () {
  "use strict";
  var form = document.querySelector("form.pinpad");
  if (!form) return;
  var field = form.querySelector("input[name=pin]");
  var keys = form.querySelector(".keys");
  if (!field || !keys) return;
  var max = parseInt(field.getAttribute("maxlength"), 10) || 8;
  keys.hidden = false;
  keys.addEventListener("click", function (event) {
    var key = event.target.closest(".key");
    if (!key) return;
    if (key.dataset.clear) field.value = "";
    else if (key.dataset.back) field.value = field.value.slice(0, -1);
    else if (field.value.length < max) field.value += key.dataset.digit;
    // Focus stays on the key: focusing the field would open the phone's keyboard over
    // the keypad after every tap.
  });
})();
